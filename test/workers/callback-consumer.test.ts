import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { JobSpec } from "../../src/coordinator/job-spec";
import type { CallbackMessage, TaskMessage } from "../../src/queues/messages";
import {
  captureQueue,
  coordinatorOf,
  createClient,
  deliverBatch,
  interceptFetch,
  selftestSpec,
  waitFor,
  type RecordedRequest,
} from "./helpers";

/**
 * The callbacks consumer, fed the messages a real coordinator sent (CALLBACK_QUEUE is captured), with
 * outbound fetch intercepted: what the receiver gets, and what the delivery log (the coordinator's) records.
 */

const QUEUE = "task-engine-callbacks";
const CLIENT = "callback-client";

interface CallbackRow {
  endpoint: string;
  sequence: number;
  event: string;
  state: string;
  attempts: number;
  next_attempt_at: string | null;
  error: string | null;
}

interface AttemptRow {
  callback_id: string;
  attempt: number;
  attempted_at: string;
  status: number | null;
  duration_ms: number;
  error: string | null;
}

let sent: CallbackMessage[];

beforeAll(async () => {
  await createClient(CLIENT);
});

beforeEach(() => {
  sent = captureQueue<CallbackMessage>(env.CALLBACK_QUEUE);
  captureQueue<TaskMessage>(env.TASK_QUEUE);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Starts a selftest job whose callbacks go to `endpoints`, and starts its first task (the first callback). */
async function jobWithFirstCallback(endpoints: string[], overrides: Partial<JobSpec> = {}, tasks = 1) {
  const spec = selftestSpec({ tasks, rest_endpoints: endpoints }, { client: CLIENT, ...overrides });
  const coordinator = coordinatorOf(spec.jobId);
  await coordinator.start(spec);
  await coordinator.claim("task_1", 1);
  await waitFor(async () => sent.filter((message) => message.jobId === spec.jobId).length, (count) => count === endpoints.length);
  return { spec, coordinator };
}

function sentFor(jobId: string, endpoint: string): CallbackMessage[] {
  return sent.filter((message) => message.jobId === jobId && message.endpoint === endpoint);
}

/** The first callback of a run's message, with the run's job and endpoint. */
function first(message: CallbackMessage) {
  const delivery = message.deliveries[0]!;
  return { jobId: message.jobId, client: message.client, endpoint: message.endpoint, ...delivery };
}

/** The delivery log (GET /jobs/{id}/callbacks), with each callback's count of started attempts from the coordinator. */
async function callbackRows(jobId: string): Promise<CallbackRow[]> {
  const coordinator = coordinatorOf(jobId);
  const [log, snapshot] = await Promise.all([coordinator.deliveries(CLIENT), coordinator.snapshot()]);
  const started = new Map(snapshot!.outbox.map((entry) => [entry.id, entry.attempts]));
  return log!
    .map(({ callback_id, endpoint, sequence, event, state, next_attempt_at, error }) => ({ endpoint, sequence, event, state, attempts: started.get(callback_id)!, next_attempt_at, error }))
    .sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : a.sequence - b.sequence));
}

/** Every reported attempt of the delivery log. */
async function attemptRows(jobId: string): Promise<AttemptRow[]> {
  const log = await coordinatorOf(jobId).deliveries(CLIENT);
  return log!
    .flatMap((callback) => callback.attempts.map((attempt) => ({ callback_id: callback.callback_id, ...attempt })))
    .sort((a, b) => (a.callback_id < b.callback_id ? -1 : a.callback_id > b.callback_id ? 1 : a.attempt - b.attempt));
}

function bodyOf(request: RecordedRequest): Record<string, unknown> {
  return JSON.parse(request.body) as Record<string, unknown>;
}

describe("callbacks consumer", () => {
  it("POSTs the callback body with the engine's headers; a 2xx marks it delivered in the delivery log", async () => {
    const endpoint = "https://cms.receiver.invalid/hook";
    const received = interceptFetch(() => new Response("ok", { status: 200 }));
    const { spec, coordinator } = await jobWithFirstCallback([endpoint]);
    const [message] = sentFor(spec.jobId, endpoint);
    expect(first(message!)).toMatchObject({ jobId: spec.jobId, client: CLIENT, endpoint, attempt: 1 });

    const before = Math.floor(Date.now() / 1000);
    const result = await deliverBatch(QUEUE, [{ id: "cb-1", body: message! }]);
    expect(result).toMatchObject({ outcome: "ok", ackAll: false, retryBatch: { retry: false }, explicitAcks: ["cb-1"], retryMessages: [] });

    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.url).toBe(endpoint);
    expect(request!.method).toBe("POST");
    expect(request!.headers.get("content-type")).toBe("application/json");
    expect(request!.headers.get("user-agent")).toBe(`task-engine/${env.ENGINE_VERSION}`);
    expect(request!.headers.get("webhook-id")).toBe(first(message!).id);
    const timestamp = Number(request!.headers.get("webhook-timestamp"));
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(request!.body).toBe(first(message!).body);
    expect(bodyOf(request!)).toEqual({
      job_id: spec.jobId,
      task_id: (await coordinator.snapshot())!.state.tasks.task_1!.id,
      task_name: "task_1",
      workflow: "selftest",
      event: "start",
      content_id: "content-1",
      message: "",
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      client: CLIENT,
      sequence: 1,
      attempt: 1,
    });

    await waitFor(
      () => callbackRows(spec.jobId),
      (found) => found[0]?.state === "delivered",
    );
    expect(await callbackRows(spec.jobId)).toEqual([
      { endpoint, sequence: 1, event: "task.start", state: "delivered", attempts: 1, next_attempt_at: null, error: null },
    ]);
    const [attempt] = await attemptRows(spec.jobId);
    expect(attempt).toEqual({ callback_id: first(message!).id, attempt: 1, attempted_at: expect.stringMatching(/Z$/), status: 200, duration_ms: expect.any(Number), error: null });
    expect(attempt!.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it("records a 500 as a failed attempt, holds the endpoint's later callbacks, and retries under the same webhook-id", async () => {
    const endpoint = "https://flaky.receiver.invalid/hook";
    let answer = 500;
    const received = interceptFetch(() => new Response(answer === 500 ? "boom" : null, { status: answer }));
    const { spec, coordinator } = await jobWithFirstCallback([endpoint], { callbackScheduleMs: [400, 400] });
    // The job runs on: its later callbacks (task complete, job end) queue up behind the first one.
    await coordinator.complete("task_1", 1, { waited_ms: 0 }, false);
    const [firstMessage] = sentFor(spec.jobId, endpoint);
    const firstId = first(firstMessage!).id;

    expect(await deliverBatch(QUEUE, [{ id: "cb-500", body: firstMessage! }])).toMatchObject({ explicitAcks: ["cb-500"], retryMessages: [] });
    const [failed] = await waitFor(
      () => attemptRows(spec.jobId),
      (found) => found.length === 1,
    );
    expect(failed).toEqual({ callback_id: firstId, attempt: 1, attempted_at: expect.stringMatching(/Z$/), status: 500, duration_ms: expect.any(Number), error: "HTTP 500" });
    const pending = await waitFor(
      () => callbackRows(spec.jobId),
      (found) => found[0]?.state === "pending" && found[0].attempts === 1,
    );
    expect(pending.map((row) => [row.sequence, row.event, row.state, row.attempts, row.error])).toEqual([
      [1, "task.start", "pending", 1, "HTTP 500"],
      [2, "task.complete", "pending", 0, null],
      [3, "job.end", "pending", 0, null],
    ]);
    const retryIn = Date.parse(pending[0]!.next_attempt_at!) - Date.parse(failed!.attempted_at);
    expect(retryIn).toBeGreaterThanOrEqual(400);
    expect(retryIn).toBeLessThan(3_000);

    // The coordinator's alarm sends attempt 2 of the same callback when it comes due, with the callbacks
    // that waited behind it, as one run.
    const second = await waitFor(
      async () => sentFor(spec.jobId, endpoint).find((message) => first(message).attempt === 2),
      (found) => found !== undefined,
    );
    expect(first(second!)).toMatchObject({ id: firstId, body: first(firstMessage!).body });
    expect(second!.deliveries.map((delivery) => delivery.attempt)).toEqual([2, 1, 1]);
    answer = 204;
    expect(await deliverBatch(QUEUE, [{ id: "cb-retry", body: second!, attempts: 1 }])).toMatchObject({ explicitAcks: ["cb-retry"] });

    // Attempt 2 succeeded, and the consumer went on with the endpoint's next callbacks, in order.
    expect(received.map((request) => bodyOf(request).sequence)).toEqual([1, 1, 2, 3]);
    const webhookIds = received.map((request) => request.headers.get("webhook-id"));
    expect(webhookIds.slice(0, 2)).toEqual([firstId, firstId]);
    expect(new Set(webhookIds).size).toBe(3);
    const delivered = await waitFor(
      () => callbackRows(spec.jobId),
      (found) => found.every((row) => row.state === "delivered"),
    );
    expect(delivered.map((row) => [row.sequence, row.attempts, row.next_attempt_at, row.error])).toEqual([
      [1, 2, null, null],
      [2, 1, null, null],
      [3, 1, null, null],
    ]);
    expect((await attemptRows(spec.jobId)).filter((row) => row.callback_id === firstId).map((row) => [row.attempt, row.status])).toEqual([
      [1, 500],
      [2, 204],
    ]);
  });

  it("on 410 Gone fails the callback and every later one of that endpoint, also those created afterwards; other endpoints carry on", async () => {
    const gone = "https://gone.receiver.invalid/hook";
    const alive = "https://alive.receiver.invalid/hook";
    const received = interceptFetch((url) => new Response(null, { status: url === gone ? 410 : 200 }));
    const { spec, coordinator } = await jobWithFirstCallback([gone, alive], {}, 2);

    const firsts = [...sentFor(spec.jobId, gone), ...sentFor(spec.jobId, alive)];
    expect(await deliverBatch(QUEUE, firsts.map((body, index) => ({ id: `first-${index}`, body })))).toMatchObject({
      explicitAcks: ["first-0", "first-1"],
      retryMessages: [],
    });
    // The rest of the job happens after the 410.
    const next = await coordinator.complete("task_1", 1, null, true);
    await coordinator.complete(next!.task, next!.attempt, null, true);
    const aliveNext = await waitFor(
      async () => sentFor(spec.jobId, alive).find((message) => first(message).attempt === 1 && first(message).id !== first(firsts[1]!).id),
      (found) => found !== undefined,
    );
    await deliverBatch(QUEUE, [{ id: "alive-next", body: aliveNext! }]);

    const found = await waitFor(
      () => callbackRows(spec.jobId),
      (all) => all.length === 10 && all.every((row) => row.state === "delivered" || row.state === "failed"),
    );
    const line = (endpoint: string) => found.filter((row) => row.endpoint === endpoint);
    expect(line(gone).map((row) => [row.sequence, row.state, row.attempts, row.error])).toEqual([
      [1, "failed", 1, "endpoint answered 410 Gone"],
      [2, "failed", 0, "endpoint answered 410 Gone"],
      [3, "failed", 0, "endpoint answered 410 Gone"],
      [4, "failed", 0, "endpoint answered 410 Gone"],
      [5, "failed", 0, "endpoint answered 410 Gone"],
    ]);
    expect(line(alive).map((row) => [row.sequence, row.event, row.state])).toEqual([
      [1, "task.start", "delivered"],
      [2, "task.complete", "delivered"],
      [3, "task.start", "delivered"],
      [4, "task.complete", "delivered"],
      [5, "job.end", "delivered"],
    ]);
    expect(received.filter((request) => request.url === gone)).toHaveLength(1);
    expect(sentFor(spec.jobId, gone)).toHaveLength(1);
    // A dead endpoint never changes the job's outcome.
    expect((await coordinator.snapshot())!.state.outcome).toBe("completed");
  });

  it("honours a Retry-After longer than the schedule on 429, and keeps the schedule when Retry-After is shorter", async () => {
    const throttled = "https://throttled.receiver.invalid/hook";
    const busy = "https://busy.receiver.invalid/hook";
    interceptFetch((url) =>
      url === throttled
        ? new Response("slow down", { status: 429, headers: { "retry-after": "120" } })
        : new Response("busy", { status: 503, headers: { "retry-after": "1" } }),
    );
    const { spec } = await jobWithFirstCallback([throttled, busy], { callbackScheduleMs: [5_000, 300_000] });
    const firsts = [...sentFor(spec.jobId, throttled), ...sentFor(spec.jobId, busy)];
    await deliverBatch(QUEUE, firsts.map((body, index) => ({ id: `m-${index}`, body })));

    const found = await waitFor(
      () => callbackRows(spec.jobId),
      (all) => all.length === 2 && all.every((row) => row.state === "pending" && row.attempts === 1),
    );
    const attempts = await attemptRows(spec.jobId);
    const waitOf = (endpoint: string) => {
      const row = found.find((callback) => callback.endpoint === endpoint)!;
      const attempt = attempts.find((candidate) => candidate.callback_id === first(firsts.find((message) => message.endpoint === endpoint)!).id)!;
      return { status: attempt.status, error: row.error, waitMs: Date.parse(row.next_attempt_at!) - Date.parse(attempt.attempted_at) };
    };
    const slow = waitOf(throttled);
    expect(slow).toMatchObject({ status: 429, error: "HTTP 429" });
    expect(slow.waitMs).toBeGreaterThanOrEqual(120_000);
    expect(slow.waitMs).toBeLessThan(123_000);
    const fast = waitOf(busy);
    expect(fast).toMatchObject({ status: 503, error: "HTTP 503" });
    expect(fast.waitMs).toBeGreaterThanOrEqual(5_000);
    expect(fast.waitMs).toBeLessThan(8_000);
  });

  it("records a network error as a failed attempt without a status", async () => {
    const endpoint = "https://unreachable.receiver.invalid/hook";
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("connection refused"));
    const { spec } = await jobWithFirstCallback([endpoint]);
    const [message] = sentFor(spec.jobId, endpoint);
    expect(await deliverBatch(QUEUE, [{ id: "net", body: message! }])).toMatchObject({ explicitAcks: ["net"], retryMessages: [] });
    const [attempt] = await waitFor(
      () => attemptRows(spec.jobId),
      (found) => found.length === 1,
    );
    expect(attempt).toMatchObject({ attempt: 1, status: null, error: "network error: connection refused" });
    const [row] = await waitFor(
      () => callbackRows(spec.jobId),
      (found) => found[0]?.state === "pending",
    );
    expect(row).toMatchObject({ attempts: 1, error: "network error: connection refused", next_attempt_at: expect.stringMatching(/Z$/) });
  });
  it("retries a malformed message on its own and still delivers the rest of its batch", async () => {
    const endpoint = "https://beside.receiver.invalid/hook";
    interceptFetch(() => new Response("ok", { status: 200 }));
    const { spec } = await jobWithFirstCallback([endpoint]);
    const [message] = sentFor(spec.jobId, endpoint);
    const result = await deliverBatch(QUEUE, [
      { id: "malformed", body: null },
      { id: "fine", body: message! },
    ]);
    expect(result.explicitAcks).toEqual(["fine"]);
    expect(result.retryMessages.map((retry) => retry.msgId)).toEqual(["malformed"]);
    await waitFor(
      () => callbackRows(spec.jobId),
      (found) => found[0]?.state === "delivered",
    );
  });

  it("keeps the delivery log consistent when a duplicate message repeats an attempt", async () => {
    const endpoint = "https://twice.receiver.invalid/hook";
    let status = 500;
    interceptFetch(() => new Response("x", { status }));
    const { spec } = await jobWithFirstCallback([endpoint], { callbackScheduleMs: [60_000] });
    const [message] = sentFor(spec.jobId, endpoint);
    await deliverBatch(QUEUE, [{ id: "original", body: message! }]);
    status = 200;
    await deliverBatch(QUEUE, [{ id: "duplicate", body: message! }]);

    const [callback] = await waitFor(
      () => callbackRows(spec.jobId),
      (found) => found[0]?.attempts === 1 && found[0].state !== "in_flight",
    );
    expect(callback).toMatchObject({ state: "pending", error: "HTTP 500" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await attemptRows(spec.jobId)).map((row) => [row.attempt, row.status])).toEqual([[1, 500]]);
  });
});
