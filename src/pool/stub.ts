import type { WorkerPool } from "./worker-pool";

export type WorkerPoolApi = Pick<WorkerPool, "offer" | "lease" | "settle" | "abandon" | "status">;

/** The WorkerPool object of a pool (one per pool name). */
export function workerPoolFor(namespace: Env["WORKER_POOL"], pool: string): WorkerPoolApi {
  return namespace.get(namespace.idFromName(pool)) as unknown as WorkerPoolApi;
}
