import { ulid } from "ulidx";
import { coordinatorFor } from "../coordinator/stub";
import { notFound } from "./errors";
import { reserveIdempotencyKey } from "./idempotency-key";
import { createPrepared, prepareJob } from "./job-creation";
import type { CallerCost } from "../protocol/admission";
import type { ClientSnapshot } from "../db/clients";

export interface RerunRequest {
  client: string;
  /** The job to rerun. */
  jobId: string;
  requestId: string;
  idempotencyKey?: string;
  /** The client as the API knows it (settings and callback rules for the replacement). */
  snapshot: ClientSnapshot;
  /** The request's cost so far, charged to the replacement. */
  cost?: CallerCost;
}

export interface RerunAnswer {
  /** The replacement job. */
  id: string;
  /** This request created the replacement (202); false: an earlier rerun of the job did (200). */
  created: boolean;
}

/**
 * POST /jobs/{id}/rerun: a new job with the original's parameters, which becomes `broken`. A job has one
 * replacement: its coordinator records the replacement's id (`rerunAs`) before the replacement is created,
 * and creating is idempotent per id, so concurrent, repeated, or interrupted-then-repeated reruns all end
 * in the same one job. The new job is prepared (and a job whose callbacks would be too large refused)
 * before anything is recorded.
 */
export async function rerunJob(env: Env, request: RerunRequest): Promise<RerunAnswer> {
  const original = coordinatorFor(env.JOB_COORDINATOR, request.jobId);
  // Another client's job answers as an unknown one.
  const spec = await original.spec(request.client);
  if (!spec) throw notFound();
  let candidate = ulid();
  if (request.idempotencyKey !== undefined) {
    // The key names this job's rerun; the same key on another job's rerun is a conflict, as on POST /job.
    const reservation = await reserveIdempotencyKey(env.DB, {
      client: request.client,
      key: request.idempotencyKey,
      request: { rerun: request.jobId },
      jobId: candidate,
      conflict: "This Idempotency-Key was used in the last 24 hours for another request.",
    });
    if (reservation.kind === "replay") candidate = reservation.jobId;
  }
  const prepared = prepareJob({
    id: candidate,
    client: request.client,
    workflow: spec.workflow,
    contentId: spec.contentId,
    parameters: spec.parameters,
    submittedParameters: spec.submittedParameters,
    endpoints: spec.endpoints,
    priority: spec.priority,
    persist: spec.persist,
    runAt: null,
    semaphoreUrl: null,
    submissionLog: [{ severity: "info", message: JSON.stringify({ path: `POST /jobs/${request.jobId}/rerun`, request_id: request.requestId, payload: "job_created", rerun_of: request.jobId }) }],
    rerunOf: request.jobId,
  }, request.snapshot);
  const claim = await original.rerunAs(candidate);
  if (!claim) throw notFound();
  const { created } = await createPrepared(env, { ...prepared, spec: { ...prepared.spec, jobId: claim.id } }, request.cost);
  await original.markBroken();
  return { id: claim.id, created };
}
