import type { JobCoordinator } from "./job-coordinator";

/** The JobCoordinator's RPC methods with their declared types. */
export type JobCoordinatorApi = Pick<
  JobCoordinator,
  | "create"
  | "start"
  | "admit"
  | "markQueued"
  | "change"
  | "retryInPlace"
  | "markBroken"
  | "spec"
  | "view"
  | "logs"
  | "deliveries"
  | "rerunAs"
  | "claim"
  | "complete"
  | "fail"
  | "progress"
  | "claimRemote"
  | "workerCall"
  | "recordDeliveries"
  | "callbackBody"
  | "redeliver"
  | "purge"
  | "snapshot"
>;

/**
 * The JobCoordinator of one job (one Durable Object per job, named by the job id). Typed by the class's
 * own signatures: workers-types' RPC mapping turns fields typed `unknown` (parameters, outputs) into
 * `never`, although they are plain JSON values that cross RPC unchanged.
 */
export function coordinatorFor(namespace: Env["JOB_COORDINATOR"], jobId: string): JobCoordinatorApi {
  return namespace.get(namespace.idFromName(jobId)) as unknown as JobCoordinatorApi;
}
