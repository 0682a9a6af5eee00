import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Engine, sleep, type Client, type JobObject } from "./harness";

/**
 * No job holds another back (efficiency.md, Fairness): under wrangler dev a queue runs one consumer batch
 * at a time, so a consumer that ran a whole chain of slow tasks inline would keep every other job's first
 * task waiting behind it. Jobs of chained 1 s tasks, submitted at once with slots for all, must run side by
 * side: the whole set ends near one chain's time, and no job's last task ends before every job's first task
 * has started. The engine runs with the vars of `npm run dev`, so a batch hands attempts still running after
 * 50 ms to waitUntil (TASK_BATCH_BUDGET_MS); a handed-off attempt lost with the runtime must run again.
 */

const JOBS = 8;
const TASKS = 3;
const TASK_MS = 1000;

let engine: Engine;
let client: Client;

beforeAll(async () => {
  engine = await Engine.start({
    name: "fairness",
    // Short leases, so an attempt lost with the runtime is sent again within seconds.
    vars: { TASK_BATCH_BUDGET_MS: "50", DISPATCH_LEASE_MS: "1000", LEASE_GRACE_MS: "1000" },
  });
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

describe("a handed-off attempt lost with the runtime", () => {
  test("runs again when its lease ends, and the job completes", async () => {
    const accepted = await engine.submit(client, "selftest", { content_id: "fair-restart", tasks: 2, shape: "chain", task_ms: 1500 });
    // The batch handed task_1 off after 50 ms and acked its message: only the coordinator's lease is left.
    await engine.waitForJob(client, accepted.id, 10_000, (job) => job.tasks[0]!.state === "running");
    await sleep(500);
    await engine.restart();
    const job = await engine.waitForJob(client, accepted.id, 60_000);
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(job.tasks.map((task) => [task.task_name, task.state, task.attempts])).toStrictEqual([
      ["task_1", "completed", 2],
      ["task_2", "completed", 1],
    ]);
  }, 90_000);
});
