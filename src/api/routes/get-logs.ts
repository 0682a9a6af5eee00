import { createRoute, z } from "@hono/zod-openapi";
import { findJob, jobLogs } from "../../db/jobs";
import { notFound } from "../errors";
import { toLogLine } from "../job-object";
import { newRouter } from "../router";
import { errorResponses, JobIdParam, LogLine, looseBoolean, notFoundResponse } from "../schemas";

const getLogs = createRoute({
  method: "get",
  path: "/logs/{id}",
  summary: "The job's log lines, oldest first",
  request: {
    params: JobIdParam,
    query: z.object({
      show_all: looseBoolean.optional().openapi({ type: "string", description: "1 includes lines with visible: false" }),
    }),
  },
  responses: {
    200: { description: "Log lines", content: { "application/json": { schema: z.array(LogLine) } } },
    ...errorResponses,
    ...notFoundResponse,
  },
});

export const getLogsRoutes = newRouter().openapi(getLogs, async (c) => {
  const { id } = c.req.valid("param");
  const { show_all } = c.req.valid("query");
  if (!(await findJob(c.env.DB, c.get("client"), id))) throw notFound();
  const rows = await jobLogs(c.env.DB, id, show_all === true);
  return c.json(rows.map(toLogLine), 200);
});
