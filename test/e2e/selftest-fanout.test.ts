import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  bodiesOf,
  expectCallbackHeaders,
  expectTimesInOrder,
  ISO_UTC,
  isJobCallback,
  isTaskCallback,
  jobCallbackArrived,
  range,
  type TaskCallback,
} from "./callbacks";
import { Engine, sleep, type Client, type JobObject } from "./harness";
import { Receiver } from "./receiver";

const SETTLE_MS = 400;

let engine: Engine;
let receiver: Receiver;
let client: Client;

beforeAll(async () => {
  receiver = await Receiver.start();
  engine = await Engine.start({ name: "fanout" });
  client = await engine.createClient("e2e-fanout");
});

afterAll(async () => {
  await engine?.destroy();
  await receiver?.stop();
});

/** Runs one fan-out job to its job callback and returns what the user sees. */
async function runFanout(tasks: number, taskMs: number, path: string) {
  const submittedAt = Date.now();
  const accepted = await engine.submit(client, "selftest", {
    content_id: `fan-${tasks}`,
    tasks,
    shape: "fanout",
    task_ms: taskMs,
    rest_endpoints: [receiver.url(path)],
    custom_data: { tasks },
  });
  await receiver.waitFor(jobCallbackArrived(accepted.id, path), 60_000, "the job callback");
  await sleep(SETTLE_MS);
  const job = await engine.getJob(client, accepted.id);
  return { submittedAt, doneAt: Date.now(), job, requests: receiver.at(path) };
}

/** Every task of the job started once and completed once, on attempt 1, and the job callback came last. */
function expectEveryTaskOnce(job: JobObject, tasks: number, bodies: ReturnType<typeof bodiesOf>): void {
  const total = 2 * tasks + 1;
  expect(bodies).toHaveLength(total);
  // One callback in flight per endpoint: they arrive in sequence order, without gaps or repeats.
  expect(bodies.map((body) => body.sequence)).toStrictEqual(range(1, total));

  const taskBodies = bodies.slice(0, -1);
  expect(taskBodies.every(isTaskCallback)).toBe(true);
  const byTask = new Map<string, TaskCallback[]>();
  for (const body of taskBodies as TaskCallback[]) byTask.set(body.task_id, [...(byTask.get(body.task_id) ?? []), body]);
  expect(job.tasks).toHaveLength(tasks);
  expect(byTask.size).toBe(tasks);
  for (const [index, task] of job.tasks.entries()) {
    expect(task.task_name).toBe(`task_${index + 1}`);
    expect(task).toMatchObject({ state: "completed", attempts: 1, message: "", progress: 100 });
    const events = byTask.get(task.task_id) ?? [];
    expect(events.map((body) => body.event)).toStrictEqual(["start", "complete"]);
    for (const body of events) {
      expect(body).toStrictEqual({
        job_id: job.id,
        task_id: task.task_id,
        task_name: task.task_name,
        workflow: "selftest",
        event: body.event,
        content_id: `fan-${tasks}`,
        message: "",
        time: expect.stringMatching(ISO_UTC),
        client: "e2e-fanout",
        sequence: body.sequence,
        attempt: 1,
      });
    }
    expect(events[0]!.time).toBe(task.started_at);
    expect(events[1]!.time).toBe(task.ended_at);
  }

  const last = bodies[total - 1]!;
  expect(isJobCallback(last)).toBe(true);
  expect(last).toStrictEqual({
    job_id: job.id,
    status: "completed",
    workflow: "selftest",
    content_id: `fan-${tasks}`,
    custom_data: { tasks },
    time: expect.stringMatching(ISO_UTC),
    client: "e2e-fanout",
    sequence: total,
    message: `${tasks} tasks completed (fanout)`,
  });
}

describe("selftest fan-out", () => {
  test("20 parallel tasks: each starts and completes once, sequences 1..41 without gaps, the job callback last", async () => {
    const { submittedAt, doneAt, job, requests } = await runFanout(20, 200, "/fan-20");
    expect(job).toMatchObject({ queue_state: "completed", failed: false, progress: 100 });
    expect(job.result).toStrictEqual({ message: "20 tasks completed (fanout)" });
    const bodies = bodiesOf(requests);
    expectEveryTaskOnce(job, 20, bodies);
    expectTimesInOrder(bodies, job.created_at, doneAt);
    for (const request of requests) expectCallbackHeaders(request, submittedAt, doneAt);
    expect(new Set(requests.map((request) => request.headers["webhook-id"])).size).toBe(41);

    // The tasks ran in parallel: several were running at the same moment, and the whole job took far less
    // than the 20 × 200 ms of a sequential run.
    const intervals = job.tasks.map((task) => [Date.parse(task.started_at!), Date.parse(task.ended_at!)] as const);
    const mostAtOnce = Math.max(...intervals.map(([start]) => intervals.filter(([s, e]) => s <= start && start < e).length));
    expect(mostAtOnce).toBeGreaterThanOrEqual(3);
    expect(Math.max(...intervals.map(([, end]) => end)) - Math.min(...intervals.map(([start]) => start))).toBeLessThan(20 * 200);
  });

  test("100 parallel tasks: 201 callbacks, none lost, none repeated, in sequence order", async () => {
    const { job, requests } = await runFanout(100, 0, "/fan-100");
    expect(job).toMatchObject({ queue_state: "completed", failed: false, progress: 100 });
    expectEveryTaskOnce(job, 100, bodiesOf(requests));
    expect(new Set(requests.map((request) => request.headers["webhook-id"])).size).toBe(201);
  });
});
