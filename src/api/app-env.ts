import type { EngineConfig } from "../config";

/** Hono's environment for this app: the Worker bindings and what the middleware puts in the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The authenticated client's name. */
    client: string;
    config: EngineConfig;
  };
}
