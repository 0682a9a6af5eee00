import { createRoute, z } from "@hono/zod-openapi";
import { maskSecrets } from "../../domain/secrets";
import { endpointProblem } from "../../domain/endpoints";
import { ulid } from "ulidx";
import { releaseKey } from "../../db/idempotency";
import { validationError } from "../errors";
import { reserveIdempotencyKey } from "../idempotency-key";
import { createJob, type NewJob } from "../job-creation";
import { requireWorkerPools, resolveStorageParameters, usesStorage, validateSubmission } from "../job-submission";
import { parseClientConfig } from "../../domain/client-config";
import { newRouter } from "../router";
import { ErrorBody, errorResponses, JobAccepted, JobRequest, utcText, bodyErrorResponses, forbiddenResponse } from "../schemas";

const submitJob = createRoute({
  method: "post",
  path: "/job",
  summary: "Submit a job",
  request: {
    headers: z.object({ "idempotency-key": z.string().optional().openapi({ description: "Same key and body within 24 h → the same job" }) }),
    body: { required: true, content: { "application/json": { schema: JobRequest } } },
  },
  responses: {
    200: { description: "The job an earlier request with the same Idempotency-Key created", content: { "application/json": { schema: JobAccepted } } },
    202: { description: "Accepted", content: { "application/json": { schema: JobAccepted } } },
    409: { description: "Idempotency-Key reused with another body", content: { "application/json": { schema: ErrorBody } } },
    ...errorResponses,
    ...bodyErrorResponses,
    ...forbiddenResponse,
  },
});

export const submitJobRoutes = newRouter().openapi(submitJob, async (c) => {
  const request = c.req.valid("json");
  const client = c.get("client");
  const submission = validateSubmission(request, client, c.get("config").allowPrivateCallbacks);
  let clientConfig: ReturnType<typeof parseClientConfig> | undefined;
  const config = () => (clientConfig ??= parseClientConfig(c.get("clientRecord").config));
  if (usesStorage(submission.workflow)) resolveStorageParameters(submission, config().storage);
  await requireWorkerPools(c.env.DB, submission, client, () => config().pools);
  const now = Date.now();
  // A run_at in the past means now.
  const runAt = request.job.run_at ? Math.max(Date.parse(utcText(request.job.run_at)), now) : null;
  const semaphoreUrl = request.job.semaphore_url ?? null;
  const semaphoreProblem = semaphoreUrl === null ? null : endpointProblem(semaphoreUrl, c.get("config").allowPrivateCallbacks);
  if (semaphoreProblem) throw validationError([{ path: "job.semaphore_url", message: `semaphore URL ${semaphoreProblem}` }]);
  const submittedParameters = maskSecrets(request.parameters);
  const submissionLog: NewJob["submissionLog"] = [
    {
      severity: "info",
      message: JSON.stringify({ path: "POST /job", request_id: c.get("requestId"), parameters: submittedParameters, payload: "job_created" }),
    },
  ];
  if (submission.ignoredKeys.length > 0) {
    submissionLog.push({
      severity: "warn",
      message: `Ignored parameters not used by ${submission.workflow.name}: ${submission.ignoredKeys.join(", ")}`,
    });
  }
  const idempotencyKey = c.req.header("idempotency-key");
  let reservedId: string | undefined;
  let replayed = false;
  if (idempotencyKey !== undefined) {
    reservedId = ulid(now);
    const reservation = await reserveIdempotencyKey(c.env.DB, {
      client,
      key: idempotencyKey,
      request,
      jobId: reservedId,
      conflict: "This Idempotency-Key was used in the last 24 hours with another request body.",
      now,
    });
    if (reservation.kind === "replay") {
      // The job of the first request: its coordinator creates it once, and answers a repeat with its current
      // state. Should the first request have died before creating it, this creates it, under the same id.
      reservedId = reservation.jobId;
      replayed = true;
    }
  }
  const created = createJob(
    c.env,
    {
      id: reservedId,
      client,
      workflow: submission.workflow.name,
      contentId: submission.contentId,
      parameters: submission.parameters,
      submittedParameters,
      endpoints: submission.endpoints,
      priority: request.job.priority,
      persist: request.job.persist,
      runAt,
      semaphoreUrl,
      submissionLog,
    },
    { snapshot: c.get("clientRecord"), now, cost: c.get("cost") },
  );
  const { id, queueState } = await created.catch(async (error: unknown) => {
    if (idempotencyKey !== undefined && reservedId !== undefined) await releaseKey(c.env.DB, client, idempotencyKey, reservedId);
    throw error;
  });
  return c.json({ id, job_id: id, result: "accepted" as const, queue_state: queueState }, replayed ? 200 : 202);
});
