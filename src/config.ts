import { DEFAULT_OFFER_LEASE_MS, DEFAULT_WORKER_LEASE_MS } from "./domain/job-state";

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
  /** A remote worker's lease: it ends this long after the claim or the last heartbeat (workers.md). */
  workerLeaseMs: number;
  /** How long a task offered to a worker pool waits there before the coordinator offers it again. */
  offerLeaseMs: number;
  /**
   * Development only: how long a tasks batch waits for its attempts before the rest go on under
   * `waitUntil`. `wrangler dev` runs one batch per queue at a time, so a 1.5 s task would hold back every
   * task queued behind it; Cloudflare runs batches concurrently. Unset (null) in production, where a batch
   * waits for its attempts: `waitUntil` outlives a batch by at most 30 s, less than a task's timeout.
   */
  taskBatchBudgetMs: number | null;
}

export interface EngineVars {
  ENGINE_VERSION?: string;
  ALLOW_PRIVATE_CALLBACKS?: string;
  DISPATCH_LEASE_MS?: string;
  LEASE_GRACE_MS?: string;
  CALLBACK_TIMEOUT_MS?: string;
  WORKER_LEASE_MS?: string;
  POOL_OFFER_LEASE_MS?: string;
  TASK_BATCH_BUDGET_MS?: string;
}

export function engineConfig(vars: EngineVars): EngineConfig {
  return {
    version: vars.ENGINE_VERSION ?? "0.0.0",
    allowPrivateCallbacks: vars.ALLOW_PRIVATE_CALLBACKS === "true",
    dispatchLeaseMs: positiveInt(vars.DISPATCH_LEASE_MS, 30_000),
    leaseGraceMs: positiveInt(vars.LEASE_GRACE_MS, 5_000),
    callbackTimeoutMs: positiveInt(vars.CALLBACK_TIMEOUT_MS, 15_000),
    workerLeaseMs: positiveInt(vars.WORKER_LEASE_MS, DEFAULT_WORKER_LEASE_MS),
    offerLeaseMs: positiveInt(vars.POOL_OFFER_LEASE_MS, DEFAULT_OFFER_LEASE_MS),
    taskBatchBudgetMs: vars.TASK_BATCH_BUDGET_MS === undefined ? null : positiveInt(vars.TASK_BATCH_BUDGET_MS, 50),
  };
}

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
