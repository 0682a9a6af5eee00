import { createRoute } from "@hono/zod-openapi";
import { findJob, jobTasks } from "../../db/jobs";
import { schedulerFor } from "../../scheduler/stub";
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
  const client = c.get("client");
  const row = await findJob(c.env.DB, client, id);
  if (!row) throw notFound();
  const job = toJobObject(row, await jobTasks(c.env.DB, id));
  if (row.queue_state === "queued") {
    const view = await schedulerFor(c.env.CLIENT_SCHEDULER, client).view();
    job.position = view.entries.find((entry) => entry.jobId === id)?.position ?? null;
    job.top_of_queue = job.position === 1;
  }
  return c.json(job, 200);
});
