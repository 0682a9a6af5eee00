import { createRoute } from "@hono/zod-openapi";
import { maskSecrets } from "../../domain/secrets";
import { endpointProblem } from "../../domain/endpoints";
import { validationError } from "../errors";
import { createJob, type NewJob } from "../job-creation";
import { validateSubmission } from "../job-submission";
import { newRouter } from "../router";
import { errorResponses, JobAccepted, JobRequest, utcText } from "../schemas";

const submitJob = createRoute({
  method: "post",
  path: "/job",
  summary: "Submit a job",
  request: { body: { required: true, content: { "application/json": { schema: JobRequest } } } },
  responses: {
    202: { description: "Accepted", content: { "application/json": { schema: JobAccepted } } },
    ...errorResponses,
  },
});

export const submitJobRoutes = newRouter().openapi(submitJob, async (c) => {
  const request = c.req.valid("json");
  const client = c.get("client");
  const submission = validateSubmission(request, client, c.get("config").allowPrivateCallbacks);
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
  const { id, queueState } = await createJob(
    c.env,
    {
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
    now,
  );
  return c.json({ id, job_id: id, result: "accepted" as const, queue_state: queueState }, 202);
});
