/** The JobCoordinator of one job (one Durable Object per job, named by the job id). */
export function coordinatorFor(namespace: Env["JOB_COORDINATOR"], jobId: string) {
  return namespace.get(namespace.idFromName(jobId));
}
