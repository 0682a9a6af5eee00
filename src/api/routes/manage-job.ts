import { createRoute, z } from "@hono/zod-openapi";
import { coordinatorFor } from "../../coordinator/stub";
import { endpointProblem } from "../../domain/endpoints";
import type { JobChange } from "../../domain/job-management";
import { ApiError, notFound, validationError } from "../errors";
import { rerunJob } from "../job-rerun";
import { newRouter } from "../router";
import { ErrorBody, errorResponses, JobIdParam, looseBoolean, notFoundResponse, forbiddenResponse, Priority, SemaphoreUrl, UtcTime, utcText, bodyErrorResponses } from "../schemas";

const JobPatch = z
  .object({
    client: z.string().optional(),
    queue_state: z.enum(["paused", "broken", "queued"]).optional().openapi({ description: "paused, broken, or queued to resume" }),
    priority: Priority.optional().openapi({ type: "integer", minimum: 1, maximum: 10 }),
    run_at: UtcTime.nullable().optional(),
    semaphore_url: SemaphoreUrl.nullable().optional(),
    /** The reference documentation spells it this way once. */
    sempahore_url: SemaphoreUrl.nullable().optional(),
    persist: looseBoolean.optional().openapi({ type: "boolean" }),
  })
  .strict()
  .openapi("JobPatch");

const conflict = { 409: { description: "The job's state forbids the change", content: { "application/json": { schema: ErrorBody } } } } as const;

const patchJob = createRoute({
  method: "patch",
  path: "/jobs/{id}",
  summary: "Pause, resume or break a job; change its priority, run_at, semaphore_url or persist",
  request: { params: JobIdParam, body: { required: true, content: { "application/json": { schema: JobPatch } } } },
  responses: {
    200: {
      description: "Applied",
      content: { "application/json": { schema: z.object({ id: z.string(), result: z.string().openapi({ example: "Performed updates: priority, run_at" }) }) } },
    },
    ...errorResponses,
    ...bodyErrorResponses,
    ...forbiddenResponse,
    ...notFoundResponse,
    ...conflict,
  },
});

const RerunAccepted = z.object({ id: z.string(), job_id: z.string(), result: z.literal("accepted"), rerun_of: z.string() }).openapi("RerunAccepted");

const rerunJobRoute = createRoute({
  method: "post",
  path: "/jobs/{id}/rerun",
  summary: "A new job with the same parameters; the original becomes broken. A job has one replacement: repeating the rerun answers with it",
  request: {
    params: JobIdParam,
    headers: z.object({ "idempotency-key": z.string().optional().openapi({ description: "The same key within 24 h names the same rerun; with another job → 409" }) }),
  },
  responses: {
    200: { description: "This job was rerun before: its replacement", content: { "application/json": { schema: RerunAccepted } } },
    202: { description: "Accepted: the replacement job", content: { "application/json": { schema: RerunAccepted } } },
    ...errorResponses,
    ...bodyErrorResponses,
    ...notFoundResponse,
    409: { description: "Idempotency-Key used with another job", content: { "application/json": { schema: ErrorBody } } },
  },
});

const retryJob = createRoute({
  method: "post",
  path: "/jobs/{id}/retry",
  summary: "Resume a failed or broken job in place: completed tasks are kept, failed and cancelled ones run again",
  request: { params: JobIdParam },
  responses: {
    202: { description: "Accepted", content: { "application/json": { schema: z.object({ id: z.string(), result: z.literal("accepted") }) } } },
    ...errorResponses,
    ...bodyErrorResponses,
    ...notFoundResponse,
    ...conflict,
  },
});


export const manageJobRoutes = newRouter()
  .openapi(patchJob, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const client = c.get("client");
    if (body.client !== undefined && body.client !== client) throw new ApiError(403, "forbidden", "The client in the body does not match the client header.");
    // One field under either spelling: both at once would leave one of them unchecked and unused.
    if (body.semaphore_url !== undefined && body.sempahore_url !== undefined) {
      throw validationError([{ path: "sempahore_url", message: "give semaphore_url or its reference spelling sempahore_url, not both" }]);
    }
    const path = body.semaphore_url !== undefined ? "semaphore_url" : "sempahore_url";
    const semaphore = body.semaphore_url !== undefined ? body.semaphore_url : body.sempahore_url;
    // The same refusals as at submission: control characters (header injection), credentials, private hosts.
    const semaphoreProblem = typeof semaphore === "string" ? endpointProblem(semaphore, c.get("config").allowPrivateCallbacks) : null;
    if (semaphoreProblem) throw validationError([{ path, message: `semaphore URL ${semaphoreProblem}` }]);
    const coordinator = coordinatorFor(c.env.JOB_COORDINATOR, id);
    const change: JobChange = {
      queueState: body.queue_state,
      priority: body.priority,
      runAt: body.run_at === undefined ? undefined : body.run_at === null ? null : Date.parse(utcText(body.run_at)),
      semaphoreUrl: semaphore,
      persist: body.persist,
    };
    if (Object.values(change).every((value) => value === undefined)) {
      // Another client's job, or none: 404 first, as for any change.
      if (!(await coordinator.spec(client))) throw notFound();
      throw validationError([{ path: "", message: "nothing to change: give queue_state, priority, run_at, semaphore_url or persist" }]);
    }
    const result = await coordinator.change(client, change);
    if (!result.ok) throw "notFound" in result ? notFound() : new ApiError(409, "conflict", result.conflict);
    return c.json({ id, result: `Performed updates: ${result.performed.join(", ")}` }, 200);
  })
  .openapi(rerunJobRoute, async (c) => {
    const { id } = c.req.valid("param");
    const client = c.get("client");
    const rerun = await rerunJob(c.env, { client, jobId: id, requestId: c.get("requestId"), idempotencyKey: c.req.header("idempotency-key"), snapshot: c.get("clientRecord"), cost: c.get("cost") });
    return c.json({ id: rerun.id, job_id: rerun.id, result: "accepted" as const, rerun_of: id }, rerun.created ? 202 : 200);
  })
  .openapi(retryJob, async (c) => {
    const { id } = c.req.valid("param");
    const result = await coordinatorFor(c.env.JOB_COORDINATOR, id).retryInPlace(c.get("client"));
    if (!result.ok) throw "notFound" in result ? notFound() : new ApiError(409, "conflict", result.conflict);
    return c.json({ id, result: "accepted" as const }, 202);
  });
