import { createRoute } from "@hono/zod-openapi";
import { coordinatorFor } from "../../coordinator/stub";
import { schedulerFor } from "../../scheduler/stub";
import { notFound } from "../errors";
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
  // The job's coordinator is its store: the job as it is now, also the moment a callback about it arrives.
  const job = await coordinatorFor(c.env.JOB_COORDINATOR, id).view(client);
  if (!job) throw notFound();
  if (job.queue_state === "queued") {
    const view = await schedulerFor(c.env.CLIENT_SCHEDULER, client).view();
    job.position = view.entries.find((entry) => entry.jobId === id)?.position ?? null;
    job.top_of_queue = job.position === 1;
  }
  return c.json(job, 200);
});
