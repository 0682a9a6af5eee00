import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ISO_UTC, isJobCallback, isTaskCallback, jobCallbackArrived, ofJob, range, type Callback, type TaskCallback } from "./callbacks";
import { firstArrivals } from "./delivery";
import { Engine, sleep, type Client, type JobObject } from "./harness";
import type { ReceivedRequest } from "./receiver";
import { Receiver } from "./receiver";

/**
 * A stop of the runtime in the middle of a job, then a start on the same persisted state. Queue messages
 * in flight are lost locally; the coordinator's alarm and leases must bring the job to its end, and the
 * outbox must deliver every callback. Short leases (vars) make that take seconds.
 */

let engine: Engine;
let receiver: Receiver;
let client: Client;

beforeAll(async () => {
  receiver = await Receiver.start();
  engine = await Engine.start({
    name: "restart",
    vars: { DISPATCH_LEASE_MS: "1000", LEASE_GRACE_MS: "1000", CALLBACK_TIMEOUT_MS: "3000" },
  });
  client = await engine.createClient("e2e-restart");
  await engine.setSetting(client, "retry_delay", "0.2");
});

afterAll(async () => {
  await engine?.destroy();
  await receiver?.stop();
});

/**
 * The callbacks of one job as a receiver that dedupes on `webhook-id` sees them: every repeat of a
 * callback is an exact copy (same webhook-id, same body); one webhook-id is one sequence number; the
 * sequences run from 1 to the job callback's without a gap.
 */
function dedupe(requests: readonly ReceivedRequest[]): Callback[] {
  const unique = firstArrivals(requests).map((request) => request.body as Callback).sort((a, b) => a.sequence - b.sequence);
  const last = unique.at(-1)!;
  expect(isJobCallback(last)).toBe(true);
  expect(unique.map((body) => body.sequence)).toStrictEqual(range(1, last.sequence));
  return unique;
}

/**
 * Each task's callbacks tell a valid story that ends in `complete`: (start, fail retrying)* start complete,
 * attempts counting up from 1; the story matches the task GET /jobs/{id} shows.
 */
function expectTaskStories(job: JobObject, callbacks: readonly Callback[], contentId: string): void {
  const tasks = callbacks.filter(isTaskCallback);
  for (const task of job.tasks) {
    const story = tasks.filter((body) => body.task_id === task.task_id);
    const expected: string[] = [];
    for (let attempt = 1; attempt < task.attempts; attempt++) expected.push(`start:${attempt}`, `fail:${attempt}:retrying`);
    expected.push(`start:${task.attempts}`, `complete:${task.attempts}`);
    expect(story.map((body) => `${body.event}:${body.attempt}${body.retrying ? ":retrying" : ""}`), task.task_name).toStrictEqual(expected);
    for (const body of story) {
      expect(body).toMatchObject({ job_id: job.id, task_name: task.task_name, workflow: "selftest", content_id: contentId, client: "e2e-restart" });
      expect(body.time).toMatch(ISO_UTC);
      expect(body.message).toEqual(body.event === "fail" ? expect.stringMatching(/^attempt \d+ timed out after \d+ s$/) : "");
    }
  }
  // Every task callback belongs to one of the job's tasks.
  expect(tasks.every((body) => job.tasks.some((task) => task.task_id === body.task_id))).toBe(true);
}

describe("a restart of the runtime in the middle of a chain", () => {
  let job: JobObject;
  let requests: ReceivedRequest[];
  let seenBeforeStop: number;

  beforeAll(async () => {
    const accepted = await engine.submit(client, "selftest", {
      content_id: "restart-chain",
      tasks: 6,
      shape: "chain",
      task_ms: 700,
      rest_endpoints: [receiver.url("/chain")],
      custom_data: { run: "chain" },
    });
    // task_1 started and completed, task_2 started: the job is under way.
    await receiver.waitFor((received) => ofJob(received, accepted.id).length >= 3, 30_000, "the first three callbacks");
    await engine.stop();
    seenBeforeStop = ofJob(receiver.at("/chain"), accepted.id).length;
    await engine.restart();
    await receiver.waitFor(jobCallbackArrived(accepted.id, "/chain"), 90_000, "the job callback after the restart");
    job = await engine.waitForJob(client, accepted.id, 10_000);
    await sleep(400);
    requests = ofJob(receiver.at("/chain"), accepted.id);
  });

  test("the job completes: GET /jobs/{id} shows every task completed", () => {
    expect(seenBeforeStop).toBeGreaterThanOrEqual(3);
    expect(seenBeforeStop).toBeLessThan(13);
    expect(job).toMatchObject({ queue_state: "completed", failed: false, progress: 100 });
    expect(job.tasks.map((task) => [task.task_name, task.state])).toStrictEqual(range(1, 6).map((i) => [`task_${i}`, "completed"]));
  });

  test("no callback is missing: sequences 1..N, repeats only as exact copies under the same webhook-id", () => {
    const callbacks = dedupe(requests);
    expectTaskStories(job, callbacks, "restart-chain");
    expect(callbacks.at(-1)).toStrictEqual({
      job_id: job.id,
      status: "completed",
      workflow: "selftest",
      content_id: "restart-chain",
      custom_data: { run: "chain" },
      time: expect.stringMatching(ISO_UTC),
      client: "e2e-restart",
      sequence: callbacks.length,
      message: "6 tasks completed (chain)",
    });
  });

  test("the task that was running when the runtime stopped timed out and ran again; no other task ran twice", () => {
    const rerun = job.tasks.filter((task) => task.attempts > 1);
    expect(rerun).toHaveLength(1);
    expect(rerun[0]!.attempts).toBe(2);
    const fail = dedupe(requests).find((body): body is TaskCallback => isTaskCallback(body) && body.event === "fail");
    expect(fail).toMatchObject({ task_id: rerun[0]!.task_id, attempt: 1, retrying: true, message: expect.stringMatching(/^attempt 1 timed out after 11 s$/) });
  });
});

describe("a restart right after submission, with the runtime down longer than the leases", () => {
  test("the fan-out still completes and every callback arrives", async () => {
    const accepted = await engine.submit(client, "selftest", {
      content_id: "restart-fanout",
      tasks: 4,
      shape: "fanout",
      task_ms: 300,
      rest_endpoints: [receiver.url("/fanout")],
    });
    await engine.stop();
    await sleep(1500);
    await engine.restart();
    await receiver.waitFor(jobCallbackArrived(accepted.id, "/fanout"), 90_000, "the job callback after the restart");
    const job = await engine.waitForJob(client, accepted.id, 10_000);
    await sleep(400);
    expect(job).toMatchObject({ queue_state: "completed", failed: false, progress: 100 });
    expect(job.tasks.map((task) => task.state)).toStrictEqual(["completed", "completed", "completed", "completed"]);
    const callbacks = dedupe(ofJob(receiver.at("/fanout"), accepted.id));
    expectTaskStories(job, callbacks, "restart-fanout");
    expect(callbacks.at(-1)).toMatchObject({ status: "completed", custom_data: null, message: "4 tasks completed (fanout)" });
  });
});
