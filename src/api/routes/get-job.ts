import { createRoute } from "@hono/zod-openapi";
import { findJob, jobTasks } from "../../db/jobs";
import { notFound } from "../errors";
import { toJobObject } from "../job-object";
import { newRouter } from "../router";
import { errorResponses, JobIdParam, JobObject, notFoundResponse } from "../schemas";

const getJob = createRoute({
  method: "get",
  path: "/jobs/{id}",
  summary: "One job, with its tasks and progress",
  request: { params: JobIdParam },
  responses: {
    200: { description: "The job", content: { "application/json": { schema: JobObject } } },
    ...errorResponses,
    ...notFoundResponse,
  },
});

export const getJobRoutes = newRouter().openapi(getJob, async (c) => {
  const { id } = c.req.valid("param");
  const row = await findJob(c.env.DB, c.get("client"), id);
  if (!row) throw notFound();
  return c.json(toJobObject(row, await jobTasks(c.env.DB, id)), 200);
});
