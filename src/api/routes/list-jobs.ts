import { createRoute, z } from "@hono/zod-openapi";
import { listJobs } from "../../db/jobs";
import { toJobObject } from "../job-object";
import { newRouter } from "../router";
import { errorResponses, JobObject, looseBoolean } from "../schemas";

/** The reference system's numeric queue states. */
const STATE_NUMBERS = ["queued", "started", "completed", "pending", "broken", "scheduled", "paused"] as const;

const StateFilter = z
  .string()
  .transform((text, ctx) => {
    const byNumber = /^\d$/.test(text) ? STATE_NUMBERS[Number(text)] : undefined;
    const state = byNumber ?? STATE_NUMBERS.find((name) => name === text);
    if (!state) {
      ctx.addIssue({ code: "custom", message: `must be one of ${STATE_NUMBERS.join(", ")} or 0-6` });
      return z.NEVER;
    }
    return state;
  })
  .openapi({ type: "string", description: "queued (0), started (1), completed (2), pending (3), broken (4), scheduled (5), paused (6)" });

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(10).openapi({ type: "integer" }),
  order_by: z.enum(["created_at", "updated_at", "priority"]).default("created_at"),
  asc: looseBoolean.default(false).openapi({ type: "string", description: "1 for oldest first" }),
  state: StateFilter.optional(),
  failed: looseBoolean.optional().openapi({ type: "string", description: "1 or 0" }),
});

const listJobsRoute = createRoute({
  method: "get",
  path: "/jobs",
  summary: "List and filter the client's jobs, newest first",
  request: { query: ListQuery },
  responses: {
    200: { description: "Jobs", content: { "application/json": { schema: z.array(JobObject) } } },
    ...errorResponses,
  },
});

export const listJobsRoutes = newRouter().openapi(listJobsRoute, async (c) => {
  const query = c.req.valid("query");
  const rows = await listJobs(c.env.DB, c.get("client"), {
    limit: query.limit,
    orderBy: query.order_by,
    ascending: query.asc,
    queueState: query.state,
    failed: query.failed,
  });
  return c.json(rows.map((row) => toJobObject(row)), 200);
});
