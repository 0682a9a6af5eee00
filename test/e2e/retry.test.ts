import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bodiesOf, ISO_UTC, isTaskCallback, jobCallbackArrived, range, type Callback, type TaskCallback } from "./callbacks";
import { Engine, sleep, type Client, type JobObject, type LogLine } from "./harness";
import { Receiver } from "./receiver";

const SETTLE_MS = 400;
/** The client's retry_delay (seconds): attempt n waits 0.2 × 2^(n-1) s, ±20 % jitter. */
const RETRY_DELAY_S = 0.2;

let engine: Engine;
let receiver: Receiver;
let client: Client;

beforeAll(async () => {
  receiver = await Receiver.start();
  engine = await Engine.start({ name: "retry" });
  client = await engine.createClient("e2e-retry");
  await engine.setSetting(client, "retry_delay", String(RETRY_DELAY_S));
  await engine.setSetting(client, "retry_limit", "3");
});

afterAll(async () => {
  await engine?.destroy();
  await receiver?.stop();
});

interface Outcome {
  job: JobObject;
  bodies: Callback[];
  logs: LogLine[];
}

async function runJob(as: Client, path: string, parameters: Record<string, unknown>): Promise<Outcome> {
  const accepted = await engine.submit(as, "selftest", { ...parameters, rest_endpoints: [receiver.url(path)] });
  await receiver.waitFor(jobCallbackArrived(accepted.id, path), 30_000, "the job callback");
  await sleep(SETTLE_MS);
  const job = await engine.getJob(as, accepted.id);
  return { job, bodies: bodiesOf(receiver.at(path)), logs: await engine.getLogs(as, accepted.id) };
}

function ofTask(bodies: readonly Callback[], name: string): TaskCallback[] {
  return bodies.filter((body): body is TaskCallback => isTaskCallback(body) && body.task_name === name);
}

/** `task_name:event:attempt` (and `:retrying` on fails) for each task callback, in sequence order. */
function trail(bodies: readonly Callback[]): string[] {
  return bodies.map((body) =>
    isTaskCallback(body)
      ? `${body.task_name}:${body.event}:${body.attempt}${body.retrying === undefined ? "" : `:${body.retrying ? "retrying" : "final"}`}`
      : `job:${body.status}`,
  );
}

function failMessage(task: string, attempt: number, planned: number): string {
  return `${task} failed on purpose (attempt ${attempt} of ${planned} planned failures)`;
}

describe("fail_times 2 (under the retry limit)", () => {
  let outcome: Outcome;

  beforeAll(async () => {
    outcome = await runJob(client, "/retry-ok", { content_id: "r2", tasks: 5, fail_task: "task_2", fail_times: 2, custom_data: { k: "v" } });
  });

  test("task_2's callbacks are start, fail (retrying), start, fail (retrying), start, complete with attempts 1,1,2,2,3,3", () => {
    const { job, bodies } = outcome;
    const task2 = job.tasks.find((task) => task.task_name === "task_2")!;
    const common = {
      job_id: job.id,
      task_id: task2.task_id,
      task_name: "task_2",
      workflow: "selftest",
      content_id: "r2",
      time: expect.stringMatching(ISO_UTC),
      client: "e2e-retry",
    };
    const callbacks = ofTask(bodies, "task_2");
    expect(callbacks).toStrictEqual([
      { ...common, event: "start", message: "", sequence: 3, attempt: 1 },
      { ...common, event: "fail", message: failMessage("task_2", 1, 2), sequence: 4, attempt: 1, retrying: true },
      { ...common, event: "start", message: "", sequence: 5, attempt: 2 },
      { ...common, event: "fail", message: failMessage("task_2", 2, 2), sequence: 6, attempt: 2, retrying: true },
      { ...common, event: "start", message: "", sequence: 7, attempt: 3 },
      { ...common, event: "complete", message: "", sequence: 8, attempt: 3 },
    ]);
    // Each retry waits its backoff: 0.2 s, then 0.4 s (±20 %).
    const gap = (from: number, to: number) => Date.parse(callbacks[to]!.time) - Date.parse(callbacks[from]!.time);
    expect(gap(1, 2)).toBeGreaterThanOrEqual(0.8 * RETRY_DELAY_S * 1000);
    expect(gap(3, 4)).toBeGreaterThanOrEqual(0.8 * 2 * RETRY_DELAY_S * 1000);
    expect(gap(1, 2)).toBeLessThan(5_000);
    expect(gap(3, 4)).toBeLessThan(5_000);
  });

  test("the whole job: 15 callbacks in order, the other tasks untouched, the job completes", () => {
    const { job, bodies } = outcome;
    expect(bodies.map((body) => body.sequence)).toStrictEqual(range(1, 15));
    expect(trail(bodies)).toStrictEqual([
      "task_1:start:1",
      "task_1:complete:1",
      "task_2:start:1",
      "task_2:fail:1:retrying",
      "task_2:start:2",
      "task_2:fail:2:retrying",
      "task_2:start:3",
      "task_2:complete:3",
      "task_3:start:1",
      "task_3:complete:1",
      "task_4:start:1",
      "task_4:complete:1",
      "task_5:start:1",
      "task_5:complete:1",
      "job:completed",
    ]);
    expect(bodies[14]).toStrictEqual({
      job_id: job.id,
      status: "completed",
      workflow: "selftest",
      content_id: "r2",
      custom_data: { k: "v" },
      time: expect.stringMatching(ISO_UTC),
      client: "e2e-retry",
      sequence: 15,
      message: "5 tasks completed (chain)",
    });
    expect(job).toMatchObject({ queue_state: "completed", failed: false, progress: 100 });
    expect(job.tasks.map((task) => [task.task_name, task.state, task.attempts, task.message])).toStrictEqual([
      ["task_1", "completed", 1, ""],
      ["task_2", "completed", 3, ""],
      ["task_3", "completed", 1, ""],
      ["task_4", "completed", 1, ""],
      ["task_5", "completed", 1, ""],
    ]);
    // started_at is the first attempt's start.
    expect(job.tasks[1]!.started_at).toBe(ofTask(bodies, "task_2")[0]!.time);
  });

  test("the job log tells each failed attempt and its retry", () => {
    const task2 = outcome.logs.filter((line) => line.task_id === outcome.job.tasks[1]!.task_id);
    expect(task2.map((line) => [line.severity_description, line.message])).toStrictEqual([
      ["INFO", "Task 'task_2' started"],
      ["WARN", expect.stringMatching(/^'task_2' failed: task_2 failed on purpose \(attempt 1 of 2 planned failures\) \(attempt 1, retrying in 0\.[1-3] s\)$/)],
      ["INFO", "Task 'task_2' started (attempt 2)"],
      ["WARN", expect.stringMatching(/^'task_2' failed: task_2 failed on purpose \(attempt 2 of 2 planned failures\) \(attempt 2, retrying in 0\.[3-5] s\)$/)],
      ["INFO", "Task 'task_2' started (attempt 3)"],
      ["INFO", "'task_2' completed successfully"],
    ]);
  });
});

describe("fail_times 5 (over the retry limit of 3)", () => {
  let outcome: Outcome;
  const error = failMessage("task_2", 4, 5);

  beforeAll(async () => {
    outcome = await runJob(client, "/retry-fail", { content_id: "r5", tasks: 5, fail_task: "task_2", fail_times: 5, custom_data: { k: 5 } });
  });

  test("task_2 fails for good after attempt 4 (retrying: false); task_3..task_5 send nothing", () => {
    const { job, bodies } = outcome;
    expect(bodies.map((body) => body.sequence)).toStrictEqual(range(1, 11));
    expect(trail(bodies)).toStrictEqual([
      "task_1:start:1",
      "task_1:complete:1",
      "task_2:start:1",
      "task_2:fail:1:retrying",
      "task_2:start:2",
      "task_2:fail:2:retrying",
      "task_2:start:3",
      "task_2:fail:3:retrying",
      "task_2:start:4",
      "task_2:fail:4:final",
      "job:failed",
    ]);
    const task2 = job.tasks[1]!;
    expect(bodies[9]).toStrictEqual({
      job_id: job.id,
      task_id: task2.task_id,
      task_name: "task_2",
      workflow: "selftest",
      event: "fail",
      content_id: "r5",
      message: error,
      time: expect.stringMatching(ISO_UTC),
      client: "e2e-retry",
      sequence: 10,
      attempt: 4,
      retrying: false,
    });
    expect(ofTask(bodies, "task_2").filter((body) => body.event === "fail").map((body) => body.message)).toStrictEqual([
      failMessage("task_2", 1, 5),
      failMessage("task_2", 2, 5),
      failMessage("task_2", 3, 5),
      error,
    ]);
    for (const name of ["task_3", "task_4", "task_5"]) expect(ofTask(bodies, name)).toStrictEqual([]);
  });

  test("the job callback says failed with the error message", () => {
    const { job, bodies } = outcome;
    expect(bodies[10]).toStrictEqual({
      job_id: job.id,
      status: "failed",
      workflow: "selftest",
      content_id: "r5",
      custom_data: { k: 5 },
      time: expect.stringMatching(ISO_UTC),
      client: "e2e-retry",
      sequence: 11,
      message: error,
    });
  });

  test("GET /jobs/{id}: queue_state completed, failed true, task_2 failed, its dependents cancelled", () => {
    const { job } = outcome;
    expect(job).toMatchObject({ queue_state: "completed", failed: true, progress: 100 });
    expect(job.tasks.map((task) => [task.task_name, task.state, task.attempts, task.message])).toStrictEqual([
      ["task_1", "completed", 1, ""],
      ["task_2", "failed", 4, error],
      ["task_3", "cancelled", 0, "cancelled: 'task_2' failed"],
      ["task_4", "cancelled", 0, "cancelled: 'task_2' failed"],
      ["task_5", "cancelled", 0, "cancelled: 'task_2' failed"],
    ]);
    for (const task of job.tasks.slice(2)) {
      expect(task.started_at).toBeNull();
      expect(task.ended_at).toMatch(ISO_UTC);
    }
  });

  test("the job log ends with the failure", () => {
    const messages = outcome.logs.map((line) => `${line.severity_description} ${line.message}`);
    expect(messages).toContain(`ERROR 'task_2' failed: ${error} (attempt 4, no retry left)`);
    for (const name of ["task_3", "task_4", "task_5"]) expect(messages).toContain(`INFO '${name}' cancelled because 'task_2' failed`);
    expect(messages.at(-1)).toBe(`ERROR job failed: ${error}`);
  });
});

describe("a failure in a fan-out with retry_limit 0", () => {
  test("fails at once; the independent tasks still run; the job fails with the error", async () => {
    const strict = await engine.createClient("e2e-retry-none");
    await engine.setSetting(strict, "retry_limit", "0");
    const { job, bodies } = await runJob(strict, "/retry-none", { content_id: "r0", tasks: 5, shape: "fanout", fail_task: "task_3", fail_times: 1 });
    const error = failMessage("task_3", 1, 1);
    expect(bodies.map((body) => body.sequence)).toStrictEqual(range(1, 11));
    expect(trail(ofTask(bodies, "task_3"))).toStrictEqual(["task_3:start:1", "task_3:fail:1:final"]);
    expect(ofTask(bodies, "task_3")[1]!.message).toBe(error);
    for (const name of ["task_1", "task_2", "task_4", "task_5"]) {
      expect(trail(ofTask(bodies, name))).toStrictEqual([`${name}:start:1`, `${name}:complete:1`]);
    }
    expect(bodies[10]).toMatchObject({ status: "failed", sequence: 11, message: error, custom_data: null });
    expect(job).toMatchObject({ queue_state: "completed", failed: true, progress: 100 });
    expect(job.tasks.map((task) => task.state)).toStrictEqual(["completed", "completed", "failed", "completed", "completed"]);
  });
});
