import type { EngineConfig } from "../config";
import type { CostLedger } from "../domain/cost";
import type { ClientRecord } from "./client-cache";

/** Hono's environment for this app: the Worker bindings and what the middleware puts in the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The authenticated client's name. */
    client: string;
    /** What the API knows of that client (keys, settings, configuration), at most 10 s old (client-cache.ts). */
    clientRecord: ClientRecord;
    config: EngineConfig;
    /** What this request has cost so far (request-cost.ts); charged to the job it creates. */
    cost: CostLedger;
    /** The pool token of a worker API call (worker-auth.ts). */
    workerToken: { tokenId: string; pool: string; client: string | null };
  };
}
