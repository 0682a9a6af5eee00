import { createRoute } from "@hono/zod-openapi";
import { ulid } from "ulidx";
import type { JobSpec } from "../../coordinator/job-spec";
import { coordinatorFor } from "../../coordinator/stub";
import { clientSnapshot } from "../../db/clients";
import { parseClientConfig } from "../../domain/client-config";
import type { Severity } from "../../domain/job-events";
import { maskSecrets } from "../../domain/secrets";
import { resolveSettings } from "../../domain/settings";
import { ApiError } from "../errors";
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
  const runAt = request.job.run_at ? Date.parse(utcText(request.job.run_at)) : null;
  if ((runAt !== null && runAt > now) || request.job.semaphore_url !== undefined) {
    const path = request.job.semaphore_url !== undefined ? "job.semaphore_url" : "job.run_at";
    throw new ApiError(400, "validation_failed", "Scheduled jobs (a future run_at or a semaphore_url) are not supported yet.", [
      { path, message: "scheduling is not supported yet" },
    ]);
  }
  const snapshot = await clientSnapshot(c.env.DB, client);
  const settings = resolveSettings(snapshot.settings);
  const callbackRules = parseClientConfig(snapshot.config).callback_rules.map(({ headers: _secret, ...rule }) => rule);
  const id = ulid(now);
  const submittedParameters = maskSecrets(request.parameters);
  const submissionLog: { severity: Severity; message: string }[] = [
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
  const spec: JobSpec = {
    jobId: id,
    client,
    workflow: submission.workflow.name,
    contentId: submission.contentId,
    parameters: submission.parameters,
    customData: submission.parameters.custom_data ?? null,
    endpoints: submission.endpoints,
    retryLimit: settings.retry_limit,
    retryDelayMs: Math.round(settings.retry_delay * 1000),
    callbackScheduleMs: settings.callback_retry_schedule.map((seconds) => Math.round(seconds * 1000)),
    createdAt: now,
    priority: request.job.priority,
    persist: request.job.persist,
    runAt: runAt === null ? null : new Date(runAt).toISOString(),
    submittedParameters,
    submissionLog,
    callbackRules,
  };
  // The coordinator is the job's first and only durable record; it writes the D1 rows before answering.
  await coordinatorFor(c.env.JOB_COORDINATOR, id).start(spec);
  return c.json({ id, job_id: id, result: "accepted" as const, queue_state: "queued" }, 202);
});
