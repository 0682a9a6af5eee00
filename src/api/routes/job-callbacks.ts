import { createRoute, z } from "@hono/zod-openapi";
import { coordinatorFor } from "../../coordinator/stub";
import { ApiError, notFound } from "../errors";
import { newRouter } from "../router";
import { ErrorBody, errorResponses, JobIdParam, notFoundResponse, bodyErrorResponses } from "../schemas";

const Attempt = z.object({
  attempt: z.number(),
  attempted_at: z.string(),
  status: z.number().nullable(),
  duration_ms: z.number(),
  error: z.string().nullable(),
});

const Callback = z
  .object({
    callback_id: z.string().openapi({ description: "Also the webhook-id header of every attempt" }),
    endpoint: z.string(),
    event: z.string(),
    sequence: z.number(),
    state: z.enum(["pending", "in_flight", "delivered", "failed"]),
    next_attempt_at: z.string().nullable(),
    error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    attempts: z.array(Attempt),
  })
  .openapi("Callback");

const listCallbacks = createRoute({
  method: "get",
  path: "/jobs/{id}/callbacks",
  summary: "The job's callback delivery log: every callback with its attempts",
  request: { params: JobIdParam },
  responses: {
    200: { description: "Callbacks in sequence order", content: { "application/json": { schema: z.array(Callback) } } },
    ...errorResponses,
    ...notFoundResponse,
  },
});

const redeliver = createRoute({
  method: "post",
  path: "/jobs/{id}/callbacks/{callback_id}/redeliver",
  summary: "Send one callback again: a new attempt series with the same webhook-id",
  request: { params: JobIdParam.extend({ callback_id: z.string().min(1).max(128) }) },
  responses: {
    202: {
      description: "Accepted",
      content: { "application/json": { schema: z.object({ id: z.string(), result: z.literal("accepted") }) } },
    },
    409: { description: "The callback is still being delivered", content: { "application/json": { schema: ErrorBody } } },
    ...errorResponses,
    ...bodyErrorResponses,
    ...notFoundResponse,
  },
});

export const jobCallbackRoutes = newRouter()
  .openapi(listCallbacks, async (c) => {
    const { id } = c.req.valid("param");
    // The delivery log lives in the job's coordinator, which answers for its own client only.
    const callbacks = await coordinatorFor(c.env.JOB_COORDINATOR, id).deliveries(c.get("client"));
    if (!callbacks) throw notFound();
    return c.json(callbacks, 200);
  })
  .openapi(redeliver, async (c) => {
    const { id, callback_id } = c.req.valid("param");
    const outcome = await coordinatorFor(c.env.JOB_COORDINATOR, id).redeliver(c.get("client"), callback_id);
    if (outcome.notFound) throw notFound();
    if (!outcome.ok && outcome.reason === "unknown callback") throw notFound("Callback");
    if (!outcome.ok) throw new ApiError(409, "conflict", "The callback is still being delivered; redeliver it once it is delivered or failed.");
    return c.json({ id: callback_id, result: "accepted" as const }, 202);
  });
