import { createRoute, z } from "@hono/zod-openapi";
import { coordinatorFor } from "../../coordinator/stub";
import { notFound } from "../errors";
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
  // Every line is visible: show_all is accepted (the reference has it) and shows the same lines.
  c.req.valid("query");
  const lines = await coordinatorFor(c.env.JOB_COORDINATOR, id).logs(c.get("client"));
  if (!lines) throw notFound();
  return c.json(lines, 200);
});
