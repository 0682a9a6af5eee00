import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isJobCallback, jobCallbackArrived, ofJob, range, type Callback } from "./callbacks";
import {
  allDelivered,
  arrivals,
  chainEvents,
  deadUrl,
  expectDeliveredOnLastAttempt,
  firstArrivals,
  gapMs,
  NETWORK_ERROR,
  ofEndpoint,
  retrySchedule,
  settled,
} from "./delivery";
import { Engine, sleep, type CallbackLogEntry, type Client, type JobObject } from "./harness";
import { Receiver, type ReceivedRequest } from "./receiver";

/**
 * Callback delivery (callbacks.md, Delivery) against a real local receiver that goes down, answers errors,
 * throttles, is gone, is slow, or is dead. The client's retry schedule is 1 s × 20 and an attempt times out
 * after 1 s (CALLBACK_TIMEOUT_MS), so every retry story plays out in seconds.
 */

const CALLBACK_TIMEOUT_MS = 1000;

let engine: Engine;
let receiver: Receiver;
let client: Client;

beforeAll(async () => {
  receiver = await Receiver.start();
  engine = await Engine.start({
    name: "callback-delivery",
    vars: { CALLBACK_TIMEOUT_MS: String(CALLBACK_TIMEOUT_MS), LEASE_GRACE_MS: "1000" },
  });
  client = await engine.createClient("e2e-delivery");
  await engine.setSetting(client, "callback_retry_schedule", retrySchedule(1, 20));
});

afterAll(async () => {
  await engine?.destroy();
  await receiver?.stop();
});

/** Submits a selftest chain of `tasks` instant tasks to `endpoints`. */
async function submitChain(contentId: string, endpoints: string[], tasks = 2, taskMs = 0): Promise<string> {
  const accepted = await engine.submit(client, "selftest", { content_id: contentId, tasks, task_ms: taskMs, rest_endpoints: endpoints });
  return accepted.id;
}

function expectCompleted(job: JobObject): void {
  expect(job).toMatchObject({ queue_state: "completed", failed: false, progress: 100 });
  expect(job.tasks.every((task) => task.state === "completed")).toBe(true);
}

/** The job's requests at `path` of `on`. */
function requestsAt(on: Receiver, path: string, jobId: string): ReceivedRequest[] {
  return ofJob(on.at(path), jobId);
}

describe("the receiver is down for a while, then up", () => {
  let flaky: Receiver;
  let jobId: string;
  let whileDown: CallbackLogEntry[];
  let upAt: number;
  let log: CallbackLogEntry[];
  let job: JobObject;

  beforeAll(async () => {
    flaky = await Receiver.start();
    await flaky.down();
    jobId = await submitChain("down-up", [flaky.url("/down-up")]);
    job = await engine.waitForJob(client, jobId);
    // Two attempts of the first callback failed: the receiver has been down for a while.
    whileDown = await engine.waitForCallbacks(client, jobId, (entries) => entries.length === 5 && entries[0]!.attempts.length >= 2, 15_000);
    await flaky.up();
    upAt = Date.now();
    await flaky.waitFor(jobCallbackArrived(jobId, "/down-up"), 15_000, "the job callback after the receiver came up");
    log = await engine.waitForCallbacks(client, jobId, (entries) => allDelivered(entries, 5), 10_000);
    await sleep(300);
  });

  afterAll(async () => {
    await flaky?.stop();
  });

  test("the job completed while no callback could be delivered", () => {
    expectCompleted(job);
    expect(whileDown.map((entry) => entry.sequence)).toStrictEqual(range(1, 5));
    for (const attempt of whileDown[0]!.attempts) expect(attempt).toMatchObject(NETWORK_ERROR);
    // One in flight at a time: the later callbacks wait, untried, behind the first.
    for (const entry of whileDown.slice(1)) expect(entry).toMatchObject({ state: "pending", attempts: [] });
  });

  test("every callback arrives once, after the receiver came up, in sequence order", () => {
    const requests = requestsAt(flaky, "/down-up", jobId);
    expect(arrivals(requests)).toStrictEqual(range(1, 5));
    expect(requests.every((request) => request.receivedAt >= upAt)).toBe(true);
    expect(requests.map((request) => request.headers["webhook-id"])).toStrictEqual(log.map((entry) => entry.callback_id));
    expect((requests[4]!.body as Callback & { status: string }).status).toBe("completed");
  });

  test("GET /jobs/{id}/callbacks: each delivered by exactly one 2xx attempt; the first after network errors 1 s apart", () => {
    expect(log.map((entry) => [entry.sequence, entry.event, entry.endpoint])).toStrictEqual(
      chainEvents(2).map((event, i) => [i + 1, event, flaky.url("/down-up")]),
    );
    for (const entry of log) expectDeliveredOnLastAttempt(entry, NETWORK_ERROR);
    const first = log[0]!.attempts;
    expect(first.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < first.length; i++) expect(gapMs(first[i - 1]!, first[i]!)).toBeGreaterThanOrEqual(1000);
    for (const entry of log.slice(1)) expect(entry.attempts).toHaveLength(1);
  });
});

describe("the receiver answers 500, 500, then 200", () => {
  test("delivered on the third attempt, each attempt logged with its status and duration; the rest follow in order", async () => {
    receiver.script("/flaky-500", [500, 500]);
    const jobId = await submitChain("500-500-200", [receiver.url("/flaky-500")], 1);
    await receiver.waitFor(jobCallbackArrived(jobId, "/flaky-500"), 15_000, "the job callback");
    const log = await engine.waitForCallbacks(client, jobId, (entries) => allDelivered(entries, 3), 10_000);
    const job = await engine.getJob(client, jobId);
    expectCompleted(job);

    expect(log.map((entry) => entry.event)).toStrictEqual(chainEvents(1));
    const [start, ...rest] = log;
    expect(start!.attempts.map(({ attempt, status, error }) => ({ attempt, status, error }))).toStrictEqual([
      { attempt: 1, status: 500, error: "HTTP 500" },
      { attempt: 2, status: 500, error: "HTTP 500" },
      { attempt: 3, status: 200, error: null },
    ]);
    expectDeliveredOnLastAttempt(start!, { status: 500 });
    for (const attempt of start!.attempts) expect(attempt.duration_ms).toBeLessThan(CALLBACK_TIMEOUT_MS);
    expect(gapMs(start!.attempts[0]!, start!.attempts[1]!)).toBeGreaterThanOrEqual(1000);
    expect(gapMs(start!.attempts[1]!, start!.attempts[2]!)).toBeGreaterThanOrEqual(1000);
    for (const entry of rest) {
      expectDeliveredOnLastAttempt(entry);
      expect(entry.attempts).toHaveLength(1);
    }

    // The receiver saw the same callback three times (same webhook-id, same body, a new timestamp each), then the rest.
    const requests = requestsAt(receiver, "/flaky-500", jobId);
    expect(arrivals(requests)).toStrictEqual([1, 1, 1, 2, 3]);
    expect(requests.map((request) => request.status)).toStrictEqual([500, 500, 200, 200, 200]);
    expect(new Set(requests.slice(0, 3).map((request) => request.headers["webhook-id"]))).toStrictEqual(new Set([start!.callback_id]));
    expect(new Set(requests.slice(0, 3).map((request) => request.raw)).size).toBe(1);
    const timestamps = requests.slice(0, 3).map((request) => Number(request.headers["webhook-timestamp"]));
    expect(timestamps[2]! - timestamps[0]!).toBeGreaterThanOrEqual(1);
  });
});

describe("429 with Retry-After", () => {
  test("the next attempt waits the Retry-After (3 s), not the schedule's 1 s", async () => {
    receiver.script("/throttled", [{ status: 429, headers: { "retry-after": "3" } }]);
    const jobId = await submitChain("retry-after", [receiver.url("/throttled")], 1);
    // While it waits, the log shows when the next attempt is due.
    const waiting = await engine.waitForCallbacks(
      client,
      jobId,
      (entries) => entries[0]?.attempts.length === 1 && entries[0].state === "pending" && entries[0].next_attempt_at !== null,
      10_000,
    );
    const first = waiting[0]!;
    expect(first.attempts[0]).toMatchObject({ attempt: 1, status: 429, error: "HTTP 429" });
    expect(Date.parse(first.next_attempt_at!) - Date.parse(first.attempts[0]!.attempted_at)).toBeGreaterThanOrEqual(3000);

    await receiver.waitFor(jobCallbackArrived(jobId, "/throttled"), 15_000, "the job callback");
    const log = await engine.waitForCallbacks(client, jobId, (entries) => allDelivered(entries, 3), 10_000);
    const attempts = log[0]!.attempts;
    expect(attempts.map((attempt) => attempt.status)).toStrictEqual([429, 200]);
    expect(gapMs(attempts[0]!, attempts[1]!)).toBeGreaterThanOrEqual(3000);
    expect(gapMs(attempts[0]!, attempts[1]!)).toBeLessThan(10_000);

    const requests = requestsAt(receiver, "/throttled", jobId);
    expect(arrivals(requests)).toStrictEqual([1, 1, 2, 3]);
    expect(requests[1]!.receivedAt - requests[0]!.receivedAt).toBeGreaterThanOrEqual(3000);
    expectCompleted(await engine.getJob(client, jobId));
  });
});

describe("410 Gone", () => {
  test("stops delivery to that endpoint for the job (later callbacks failed, never attempted); the other endpoint and the job go on", async () => {
    receiver.script("/gone", [410]);
    const gone = receiver.url("/gone");
    const stays = receiver.url("/stays");
    // 400 ms tasks: some callbacks are made after the 410 arrived, some before.
    const jobId = await submitChain("gone", [gone, stays], 2, 400);
    await receiver.waitFor(jobCallbackArrived(jobId, "/stays"), 15_000, "the job callback at the other endpoint");
    const log = await engine.waitForCallbacks(client, jobId, (entries) => entries.length === 10 && settled(entries), 10_000);
    await sleep(1500);

    // The gone endpoint got the first callback only, even 1.5 s after everything settled.
    expect(arrivals(requestsAt(receiver, "/gone", jobId))).toStrictEqual([1]);
    const goneLog = ofEndpoint(log, gone);
    expect(goneLog.map((entry) => [entry.sequence, entry.event, entry.state, entry.error, entry.next_attempt_at])).toStrictEqual(
      chainEvents(2).map((event, i) => [i + 1, event, "failed", "endpoint answered 410 Gone", null]),
    );
    expect(goneLog[0]!.attempts).toMatchObject([{ attempt: 1, status: 410, error: "HTTP 410" }]);
    for (const entry of goneLog.slice(1)) expect(entry.attempts).toStrictEqual([]);

    expect(arrivals(requestsAt(receiver, "/stays", jobId))).toStrictEqual(range(1, 5));
    for (const entry of ofEndpoint(log, stays)) {
      expectDeliveredOnLastAttempt(entry);
      expect(entry.attempts).toHaveLength(1);
    }
    expectCompleted(await engine.getJob(client, jobId));
    // Nothing is left to do for the job: the delivery log is final.
    expect(await engine.getCallbacks(client, jobId)).toStrictEqual(log);
  });
});

describe("a receiver slower than the attempt timeout", () => {
  test("the attempt is recorded as timed out and a later attempt delivers", async () => {
    receiver.script("/slow", [{ status: 200, delayMs: 2500 }]);
    const jobId = await submitChain("slow", [receiver.url("/slow")], 1);
    await receiver.waitFor(jobCallbackArrived(jobId, "/slow"), 15_000, "the job callback");
    const log = await engine.waitForCallbacks(client, jobId, (entries) => allDelivered(entries, 3), 10_000);

    const first = log[0]!;
    expect(first.attempts.map(({ attempt, status, error }) => ({ attempt, status, error }))).toStrictEqual([
      { attempt: 1, status: null, error: "timed out after 1 s" },
      { attempt: 2, status: 200, error: null },
    ]);
    expect(first.attempts[0]!.duration_ms).toBeGreaterThanOrEqual(CALLBACK_TIMEOUT_MS - 50);
    expect(first.attempts[0]!.duration_ms).toBeLessThan(2400);
    expect(gapMs(first.attempts[0]!, first.attempts[1]!)).toBeGreaterThanOrEqual(CALLBACK_TIMEOUT_MS + 1000);
    for (const entry of log) expectDeliveredOnLastAttempt(entry, { status: null });
    for (const entry of log.slice(1)) expect(entry.attempts).toHaveLength(1);

    const requests = requestsAt(receiver, "/slow", jobId);
    expect(arrivals(requests)).toStrictEqual([1, 1, 2, 3]);
    // The engine hung up on the slow answer; the retry is the same callback.
    expect(requests[0]!.aborted).toBe(true);
    expect(requests[1]!.aborted).toBeUndefined();
    expect(requests[1]!.headers["webhook-id"]).toBe(requests[0]!.headers["webhook-id"]);
    expect(requests[1]!.raw).toBe(requests[0]!.raw);
    expectCompleted(await engine.getJob(client, jobId));
  });
});

describe("two endpoints, one dead (connection refused)", () => {
  test("the live one receives every callback promptly and in order; the job outcome is unaffected", async () => {
    const dead = await deadUrl("/dead");
    const live = receiver.url("/live");
    const jobId = await submitChain("one-dead", [dead, live]);
    await receiver.waitFor(jobCallbackArrived(jobId, "/live"), 15_000, "the job callback at the live endpoint");
    const job = await engine.waitForJob(client, jobId, 5_000);
    expectCompleted(job);

    const requests = requestsAt(receiver, "/live", jobId);
    expect(arrivals(requests)).toStrictEqual(range(1, 5));
    // Each callback reaches the live endpoint within 2 s of the event it tells (the job end included).
    for (const request of requests) {
      const body = request.body as Callback;
      expect(request.receivedAt - Date.parse(body.time), `sequence ${body.sequence}`).toBeLessThan(2000);
    }
    expect(isJobCallback(requests[4]!.body as Callback)).toBe(true);

    const log = await engine.waitForCallbacks(client, jobId, (entries) => ofEndpoint(entries, live).every((entry) => entry.state === "delivered"), 5_000);
    for (const entry of ofEndpoint(log, live)) {
      expectDeliveredOnLastAttempt(entry);
      expect(entry.attempts).toHaveLength(1);
    }
    // The dead endpoint's first callback is being retried; the rest wait behind it, untried.
    const deadLog = ofEndpoint(log, dead);
    expect(deadLog.map((entry) => entry.sequence)).toStrictEqual(range(1, 5));
    expect(deadLog[0]!.state).toMatch(/^(pending|in_flight)$/);
    expect(deadLog[0]!.attempts.length).toBeGreaterThanOrEqual(1);
    for (const attempt of deadLog[0]!.attempts) expect(attempt).toMatchObject(NETWORK_ERROR);
    for (const entry of deadLog.slice(1)) expect(entry).toMatchObject({ state: "pending", attempts: [] });
  });
});

describe("a runtime restart with callbacks pending (the receiver down)", () => {
  let late: Receiver;

  afterAll(async () => {
    await late?.stop();
  });

  test("after the restart and the receiver up, every callback is delivered, in order", async () => {
    late = await Receiver.start();
    await late.down();
    const endpoint = late.url("/after-restart");
    const jobId = await submitChain("restart-pending", [endpoint]);
    await engine.waitForJob(client, jobId);
    const before = await engine.waitForCallbacks(client, jobId, (entries) => entries.length === 5 && entries[0]!.attempts.length >= 1, 10_000);
    expect(before.every((entry) => entry.state !== "delivered")).toBe(true);

    await engine.stop();
    await sleep(1500);
    await engine.restart();
    await late.up();
    const upAt = Date.now();

    await late.waitFor(jobCallbackArrived(jobId, "/after-restart"), 30_000, "the job callback after the restart");
    const log = await engine.waitForCallbacks(client, jobId, (entries) => allDelivered(entries, 5), 10_000);
    await sleep(300);

    const requests = requestsAt(late, "/after-restart", jobId);
    expect(requests.every((request) => request.receivedAt >= upAt)).toBe(true);
    // In order: no callback arrives before an earlier one was delivered; a repeat (allowed after a restart) is an exact copy.
    const sequences = arrivals(requests);
    expect(sequences).toStrictEqual([...sequences].sort((a, b) => a - b));
    expect(arrivals(firstArrivals(requests))).toStrictEqual(range(1, 5));
    expect(log.map((entry) => entry.event)).toStrictEqual(chainEvents(2));
    for (const entry of log) expectDeliveredOnLastAttempt(entry, NETWORK_ERROR);
    expect(log[0]!.attempts.length).toBeGreaterThanOrEqual(2);
    expectCompleted(await engine.getJob(client, jobId));
  });
});

describe("a hanging endpoint (accepts the connection, never answers)", () => {
  // Its own engine: the hang must last long enough (6 s attempt timeout) to tell a delay from noise.
  let slowEngine: Engine;
  let hangs: Receiver;
  let other: Client;

  beforeAll(async () => {
    hangs = await Receiver.start();
    hangs.respondWith((request) => (request.path === "/hang" ? { status: 200, delayMs: 20_000 } : 200));
    slowEngine = await Engine.start({ name: "callback-hang", vars: { CALLBACK_TIMEOUT_MS: "6000" } });
    other = await slowEngine.createClient("e2e-hang");
  });

  afterAll(async () => {
    await slowEngine?.destroy();
    await hangs?.stop();
  });

  // The local runtime hands out a queue's next batch only when the current one ends: the consumer stops
  // waiting for a hanging attempt after its batch budget, or it would hold back every callback behind it.
  test("does not delay the job's other endpoint nor another job's callbacks", async () => {
    const first = await slowEngine.submit(other, "selftest", {
      content_id: "hang",
      tasks: 2,
      task_ms: 300,
      rest_endpoints: [hangs.url("/hang"), hangs.url("/beside")],
    });
    await sleep(500);
    const second = await slowEngine.submit(other, "selftest", { content_id: "elsewhere", tasks: 1, rest_endpoints: [hangs.url("/elsewhere")] });
    await hangs.waitFor(jobCallbackArrived(first.id, "/beside"), 30_000, "the job callback beside the hanging endpoint");
    await hangs.waitFor(jobCallbackArrived(second.id, "/elsewhere"), 30_000, "the other job's callback");
    expect(arrivals(requestsAt(hangs, "/beside", first.id))).toStrictEqual(range(1, 5));
    expect(arrivals(requestsAt(hangs, "/elsewhere", second.id))).toStrictEqual(range(1, 3));
    const late = [...requestsAt(hangs, "/beside", first.id), ...requestsAt(hangs, "/elsewhere", second.id)]
      .map((request) => ({ path: request.path, sequence: (request.body as Callback).sequence, delayMs: request.receivedAt - Date.parse((request.body as Callback).time) }))
      .filter((arrival) => arrival.delayMs >= 2000);
    expect(late).toStrictEqual([]);
  });
});
