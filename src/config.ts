/** Deployment settings read from the Worker's vars, with their defaults. */
export interface EngineConfig {
  version: string;
  /** Accept callback URLs on localhost and private networks (local development). */
  allowPrivateCallbacks: boolean;
  /** How long a dispatched task may wait for a consumer before it is dispatched again. */
  dispatchLeaseMs: number;
  /** Extra time past a task's timeout before its attempt is presumed lost. */
  leaseGraceMs: number;
  /** Timeout of one callback delivery attempt. */
  callbackTimeoutMs: number;
}

export interface EngineVars {
  ENGINE_VERSION?: string;
  ALLOW_PRIVATE_CALLBACKS?: string;
  DISPATCH_LEASE_MS?: string;
  LEASE_GRACE_MS?: string;
  CALLBACK_TIMEOUT_MS?: string;
}

export function engineConfig(vars: EngineVars): EngineConfig {
  return {
    version: vars.ENGINE_VERSION ?? "0.0.0",
    allowPrivateCallbacks: vars.ALLOW_PRIVATE_CALLBACKS === "true",
    dispatchLeaseMs: positiveInt(vars.DISPATCH_LEASE_MS, 30_000),
    leaseGraceMs: positiveInt(vars.LEASE_GRACE_MS, 5_000),
    callbackTimeoutMs: positiveInt(vars.CALLBACK_TIMEOUT_MS, 15_000),
  };
}

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
