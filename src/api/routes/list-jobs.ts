import { createRoute, z } from "@hono/zod-openapi";
import { indexDatabase } from "../../db/index-shards";
import { listJobs, type JobOrder, type JobRow } from "../../db/jobs";
import { QUEUE_STATE_NUMBERS } from "../../domain/job-management";
import { toJobObject } from "../job-object";
import { newRouter } from "../router";
import { errorResponses, JobObject, looseBoolean, UtcTime, utcText } from "../schemas";

const StateFilter = z
  .string()
  .transform((text, ctx) => {
    const byNumber = /^\d$/.test(text) ? QUEUE_STATE_NUMBERS[Number(text)] : undefined;
    const state = byNumber ?? QUEUE_STATE_NUMBERS.find((name) => name === text);
    if (!state) {
      ctx.addIssue({ code: "custom", message: `must be one of ${QUEUE_STATE_NUMBERS.join(", ")} or 0-6` });
      return z.NEVER;
    }
    return state;
  })
  .openapi({ type: "string", description: "queued (0), started (1), completed (2), pending (3), broken (4), scheduled (5), paused (6)" });

const JobIds = z
  .string()
  .transform((text) => text.split(",").map((id) => id.trim()).filter((id) => id !== ""))
  .pipe(z.array(z.string().max(64)).min(1, "give at least one job id").max(100, "at most 100 job ids"))
  .openapi({ type: "string", description: "comma-separated job ids" });

const Cursor = z
  .string()
  .max(512)
  .transform((text, ctx) => {
    const cursor = decodeCursor(text);
    if (!cursor) {
      ctx.addIssue({ code: "custom", message: "is not a cursor this API gave out" });
      return z.NEVER;
    }
    return cursor;
  })
  .openapi({ type: "string", description: "from the Link header of the previous page" });

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(10).openapi({ type: "integer", minimum: 1, maximum: 100 }),
  order_by: z.enum(["created_at", "updated_at", "priority"]).default("created_at"),
  asc: looseBoolean.default(false).openapi({ type: "string", description: "1 for oldest (or lowest) first" }),
  state: StateFilter.optional(),
  failed: looseBoolean.optional().openapi({ type: "string", description: "1 or 0" }),
  from: UtcTime.optional().openapi({ description: "created at or after (UTC)" }),
  to: UtcTime.optional().openapi({ description: "created before (UTC)" }),
  search: z.string().min(1).max(256).optional().openapi({ description: "content_id starting with this text" }),
  job_ids: JobIds.optional(),
  workflow: z.string().min(1).max(64).optional(),
  persist: looseBoolean.optional().openapi({ type: "string", description: "1 or 0" }),
  client: z.string().optional().openapi({ description: "accepted for compatibility; must be the caller's own client" }),
  cursor: Cursor.optional(),
});

const listJobsRoute = createRoute({
  method: "get",
  path: "/jobs",
  summary: "List and filter the client's jobs, newest first; a Link header (rel=next) leads to the next page",
  request: { query: ListQuery },
  responses: {
    200: { description: "Jobs", content: { "application/json": { schema: z.array(JobObject) } } },
    ...errorResponses,
  },
});

interface CursorValue {
  orderBy: JobOrder;
  ascending: boolean;
  value: string | number;
  id: string;
}

function encodeCursor(cursor: CursorValue): string {
  return btoa(JSON.stringify([cursor.orderBy, cursor.ascending ? 1 : 0, cursor.value, cursor.id])).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

function decodeCursor(text: string): CursorValue | null {
  try {
    const [orderBy, ascending, value, id] = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/"))) as unknown[];
    if (orderBy !== "created_at" && orderBy !== "updated_at" && orderBy !== "priority") return null;
    if ((typeof value !== "string" && typeof value !== "number") || typeof id !== "string") return null;
    return { orderBy, ascending: ascending === 1, value, id };
  } catch {
    return null;
  }
}

export const listJobsRoutes = newRouter().openapi(listJobsRoute, async (c) => {
  const query = c.req.valid("query");
  const client = c.get("client");
  // A cursor carries its own order, so a page never mixes two orders.
  const orderBy = query.cursor?.orderBy ?? query.order_by;
  const ascending = query.cursor?.ascending ?? query.asc;
  const rows = query.client !== undefined && query.client !== client ? [] : await listJobs(indexDatabase(c.env, c.get("clientRecord").indexShard), client, {
    limit: query.limit,
    orderBy,
    ascending,
    queueState: query.state,
    failed: query.failed,
    from: query.from ? new Date(utcText(query.from)).toISOString() : undefined,
    to: query.to ? new Date(utcText(query.to)).toISOString() : undefined,
    search: query.search,
    jobIds: query.job_ids,
    workflow: query.workflow,
    persist: query.persist,
    after: query.cursor ? { value: query.cursor.value, id: query.cursor.id } : undefined,
  });
  const page = rows.slice(0, query.limit);
  if (rows.length > query.limit) {
    const last = page[page.length - 1]!;
    const next = new URL(c.req.url);
    next.searchParams.set("cursor", encodeCursor({ orderBy, ascending, value: last[orderBy as keyof JobRow] as string | number, id: last.id }));
    c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
  }
  return c.json(page.map((row) => toJobObject(row)), 200);
});
