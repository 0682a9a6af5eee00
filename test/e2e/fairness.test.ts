import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Engine, type Client, type JobObject } from "./harness";

/**
 * No job holds another back (efficiency.md, Fairness): under wrangler dev a queue runs one consumer batch
 * at a time, so a consumer that ran a whole chain of slow tasks inline would keep every other job's first
 * task waiting behind it. Jobs of chained 1 s tasks, submitted at once with slots for all, must run side by
 * side: the whole set ends near one chain's time, and no job's last task ends before every job's first task
 * has started.
 */

const JOBS = 8;
const TASKS = 3;
const TASK_MS = 1000;

let engine: Engine;
let client: Client;

beforeAll(async () => {
  engine = await Engine.start({ name: "fairness" });
  client = await engine.createClient("e2e-fairness");
  await engine.setSetting(client, "max_jobs", "50");
  // Eight jobs polled every 50 ms.
  await engine.setSetting(client, "rate_limit", "1000");
  await engine.setSetting(client, "rate_burst", "1000");
});

afterAll(async () => {
  await engine?.destroy();
});

describe("jobs of slow chained tasks submitted at once", () => {
  test("run side by side: done in about one chain's time, every first task started before any job's last task ended", async () => {
    const submitted = Date.now();
    const accepted = await Promise.all(
      Array.from({ length: JOBS }, (_, i) => engine.submit(client, "selftest", { content_id: `fair-${i}`, tasks: TASKS, shape: "chain", task_ms: TASK_MS })),
    );
    const jobs: JobObject[] = await Promise.all(accepted.map((job) => engine.waitForJob(client, job.id, 60_000)));
    const ended = Math.max(...jobs.flatMap((job) => job.tasks.map((task) => Date.parse(task.ended_at!))));
    const ideal = TASKS * TASK_MS;
    // One chain takes `ideal`; queue hops, admission and the runtime's start-up of each batch add a little.
    expect(ended - submitted, `all ${JOBS} jobs took ${ended - submitted} ms (one chain: ${ideal} ms)`).toBeLessThanOrEqual(ideal + 2_000);
    const lastFirstStart = Math.max(...jobs.map((job) => Date.parse(job.tasks[0]!.started_at!)));
    const firstLastEnd = Math.min(...jobs.map((job) => Date.parse(job.tasks.at(-1)!.ended_at!)));
    expect(lastFirstStart, "a job's last task ended before another job's first task started").toBeLessThan(firstLastEnd);
    for (const job of jobs) expect(job).toMatchObject({ queue_state: "completed", failed: false });
  });
});
