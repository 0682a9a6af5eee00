import { createRoute, z } from "@hono/zod-openapi";
import { clientSnapshot, putSchedule } from "../../db/clients";
import { indexDatabase } from "../../db/index-shards";
import { jobCounts, jobsInStates } from "../../db/jobs";
import { resolveSettings } from "../../domain/settings";
import { SCHEDULES, isScheduleName, type ScheduleName } from "../../schedule-catalogue";
import { schedulerConfigOf } from "../../scheduler/scheduler-config";
import { schedulerFor } from "../../scheduler/stub";
import { errorMessage } from "../../domain/errors";
import { ApiError } from "../errors";
import { toJobObject } from "../job-object";
import { newRouter } from "../router";
import { errorResponses, JobObject, bodyErrorResponses } from "../schemas";
import { forgetClient } from "../client-cache";

const json = (schema: z.ZodType, description: string) => ({ description, content: { "application/json": { schema } } });
const Anything = z.record(z.string(), z.unknown());

/** "OK" when the call succeeds, else what failed (binding errors carry no secrets). */
async function probe(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "OK";
  } catch (error) {
    return `FAILED: ${errorMessage(error)}`;
  }
}

const health = createRoute({
  method: "get",
  path: "/health",
  summary: "Version, live checks of D1 and R2, whether the queue bindings are present, the caller's dead letters and job counts",
  responses: { 200: json(Anything, "Healthy"), ...errorResponses, 500: json(Anything, "A check failed") },
});

const dashboard = createRoute({
  method: "get",
  path: "/dashboard",
  summary: "The caller's started, queued and scheduled jobs with its slot settings",
  responses: {
    200: json(
      z.object({
        max_jobs: z.number(),
        priority_slots: z.number(),
        started: z.array(JobObject),
        queued: z.array(JobObject),
        scheduled: z.array(JobObject),
        version: z.string(),
      }),
      "Dashboard",
    ),
    ...errorResponses,
  },
});

const schedules = createRoute({
  method: "get",
  path: "/schedules",
  summary: "The engine's recurring jobs and whether they are active for the caller",
  responses: { 200: json(z.object({ result: z.literal("ok"), schedules: Anything }), "Schedules"), ...errorResponses },
});

const putScheduler = createRoute({
  method: "put",
  path: "/scheduler",
  summary: "Switch one of the recurring jobs on or off for the caller",
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ schedule: z.string().min(1).max(64), active: z.boolean() }).openapi("SchedulerSwitch") } },
    },
  },
  responses: { 200: json(z.object({ result: z.literal("ok"), schedules: z.array(Anything) }), "Switched"), ...errorResponses, ...bodyErrorResponses },
});

function scheduleList(inactive: string[]) {
  return Object.fromEntries(
    Object.entries(SCHEDULES).map(([name, schedule]) => [name, { ...schedule, active: !inactive.includes(name) }]),
  ) as Record<ScheduleName, (typeof SCHEDULES)[ScheduleName] & { active: boolean }>;
}

export const operationsRoutes = newRouter()
  .openapi(health, async (c) => {
    const client = c.get("client");
    const env = c.env;
    // D1 and R2 get a real call; a failed one names what failed and turns the answer into a 500. A queue
    // cannot be asked anything without sending it a (billed) message, so its check says only what it
    // checks: that the producer binding is there.
    const [d1, r2] = await Promise.all([probe(() => env.DB.prepare("SELECT 1").first()), probe(() => env.MEDIA.head("health-check"))]);
    const queue = (binding: Queue | undefined) => (typeof binding?.send === "function" ? "present" : "FAILED: binding missing");
    const checks = { databases: { d1 }, storage: { r2 }, queues: { tasks: { binding: queue(env.TASK_QUEUE) }, callbacks: { binding: queue(env.CALLBACK_QUEUE) } } };
    if (d1 !== "OK") return c.json({ version: c.get("config").version, ...checks }, 500);
    const [counts, snapshot, deadLetters] = await Promise.all([
      jobCounts(indexDatabase(env, c.get("clientRecord").indexShard), client),
      clientSnapshot(env.DB, client),
      env.DB.prepare(`SELECT queue, COUNT(*) AS n FROM dead_letters WHERE client = ? GROUP BY queue`).bind(client).all<{ queue: string; n: number }>(),
    ]);
    const settings = resolveSettings(snapshot.settings);
    const dead = Object.fromEntries(deadLetters.results.map((row) => [row.queue, row.n]));
    const healthy = r2 === "OK" && checks.queues.tasks.binding === "present" && checks.queues.callbacks.binding === "present";
    return c.json(
      {
        version: c.get("config").version,
        databases: checks.databases,
        storage: checks.storage,
        queues: {
          tasks: { ...checks.queues.tasks, dead_letters: dead["task-engine-tasks-dlq"] ?? 0 },
          callbacks: { ...checks.queues.callbacks, dead_letters: dead["task-engine-callbacks-dlq"] ?? 0 },
        },
        jobs: { ...counts, max_jobs: settings.max_jobs, priority_slots: settings.priority_slots },
      },
      healthy ? 200 : 500,
    );
  })
  .openapi(dashboard, async (c) => {
    const client = c.get("client");
    const [rows, snapshot, view] = await Promise.all([
      jobsInStates(indexDatabase(c.env, c.get("clientRecord").indexShard), client, ["started", "queued", "scheduled"], 500),
      clientSnapshot(c.env.DB, client),
      schedulerFor(c.env.CLIENT_SCHEDULER, client).view(),
    ]);
    const settings = resolveSettings(snapshot.settings);
    const positions = new Map(view.entries.map((entry) => [entry.jobId, entry.position]));
    const jobs = rows.map((row) => {
      const job = toJobObject(row);
      job.position = positions.get(row.id) ?? null;
      job.top_of_queue = job.position === 1;
      return job;
    });
    return c.json(
      {
        max_jobs: settings.max_jobs,
        priority_slots: settings.priority_slots,
        started: jobs.filter((job) => job.queue_state === "started"),
        queued: jobs.filter((job) => job.queue_state === "queued").sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity)),
        scheduled: jobs.filter((job) => job.queue_state === "scheduled"),
        version: c.get("config").version,
      },
      200,
    );
  })
  .openapi(schedules, async (c) => {
    const snapshot = await clientSnapshot(c.env.DB, c.get("client"));
    return c.json({ result: "ok" as const, schedules: scheduleList(snapshot.inactiveSchedules) }, 200);
  })
  .openapi(putScheduler, async (c) => {
    const { schedule, active } = c.req.valid("json");
    if (!isScheduleName(schedule)) {
      throw new ApiError(400, "validation_failed", `Unknown schedule '${schedule}'. Known schedules: ${Object.keys(SCHEDULES).join(", ")}.`, [
        { path: "schedule", message: `must be one of: ${Object.keys(SCHEDULES).join(", ")}` },
      ]);
    }
    const client = c.get("client");
    await putSchedule(c.env.DB, client, schedule, active, new Date().toISOString());
    forgetClient(client);
    const snapshot = await clientSnapshot(c.env.DB, client);
    if (schedule === "queue_scheduled_jobs") await schedulerFor(c.env.CLIENT_SCHEDULER, client).configure(schedulerConfigOf(snapshot));
    const list = scheduleList(snapshot.inactiveSchedules);
    return c.json({ result: "ok" as const, schedules: Object.entries(list).map(([name, value]) => ({ name, ...value })) }, 200);
  });
