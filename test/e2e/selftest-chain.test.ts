import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  bodiesOf,
  expectCallbackHeaders,
  expectTimesInOrder,
  ISO_UTC,
  jobCallbackArrived,
  range,
  type Callback,
  type TaskCallback,
} from "./callbacks";
import { Engine, sleep, type Client, type JobObject } from "./harness";
import { Receiver } from "./receiver";

/** How long to keep listening after the job callback, to catch a late extra or repeated callback. */
const SETTLE_MS = 400;

let engine: Engine;
let receiver: Receiver;
let client: Client;

beforeAll(async () => {
  receiver = await Receiver.start();
  engine = await Engine.start({ name: "chain" });
  client = await engine.createClient("e2e-chain");
});

afterAll(async () => {
  await engine?.destroy();
  await receiver?.stop();
});

/** The callbacks a chain of `tasks` tasks sends, in order, given the job object that names its task ids. */
function expectedChain(job: JobObject, clientName: string, contentId: string, customData: unknown): Callback[] {
  const expected: Callback[] = [];
  let sequence = 1;
  for (const task of job.tasks) {
    for (const event of ["start", "complete"] as const) {
      expected.push({
        job_id: job.id,
        task_id: task.task_id,
        task_name: task.task_name,
        workflow: "selftest",
        event,
        content_id: contentId,
        message: "",
        time: expect.stringMatching(ISO_UTC) as unknown as string,
        client: clientName,
        sequence: sequence++,
        attempt: 1,
      });
    }
  }
  expected.push({
    job_id: job.id,
    status: "completed",
    workflow: "selftest",
    content_id: contentId,
    custom_data: customData,
    time: expect.stringMatching(ISO_UTC) as unknown as string,
    client: clientName,
    sequence,
    message: `${job.tasks.length} tasks completed (chain)`,
  });
  return expected;
}

describe("selftest chain of 5 tasks", () => {
  const customData = { ref: "r-1", cms: { asset: 42, tags: ["a", "b"], live: false, note: null } };
  let submittedAt: number;
  let jobId: string;
  let job: JobObject;
  let doneAt: number;

  beforeAll(async () => {
    submittedAt = Date.now();
    const accepted = await engine.submit(client, "selftest", {
      content_id: "c1",
      tasks: 5,
      shape: "chain",
      task_ms: 0,
      rest_endpoints: [receiver.url("/chain")],
      custom_data: customData,
    });
    expect(accepted).toStrictEqual({ id: accepted.id, job_id: accepted.id, result: "accepted", queue_state: "queued" });
    jobId = accepted.id;
    await receiver.waitFor(jobCallbackArrived(jobId, "/chain"), 30_000, "the job callback");
    await sleep(SETTLE_MS);
    job = await engine.getJob(client, jobId);
    doneAt = Date.now();
  });

  test("GET /jobs/{id} shows the job completed, not failed, at 100 %, every task completed on its first attempt", () => {
    expect(job).toMatchObject({ id: jobId, client: "e2e-chain", workflow: "selftest", queue_state: "completed", failed: false, progress: 100 });
    expect(job.result).toStrictEqual({ message: "5 tasks completed (chain)" });
    expect(job.tasks.map((task) => task.task_name)).toStrictEqual(["task_1", "task_2", "task_3", "task_4", "task_5"]);
    for (const task of job.tasks) {
      expect(task).toStrictEqual({
        task_id: task.task_id,
        task_name: task.task_name,
        state: "completed",
        attempts: 1,
        started_at: expect.stringMatching(ISO_UTC),
        ended_at: expect.stringMatching(ISO_UTC),
        message: "",
        progress: 100,
        needs: task.task_name === "task_1" ? [] : [`task_${Number(task.task_name.slice(5)) - 1}`],
      });
    }
    expect(new Set(job.tasks.map((task) => task.task_id)).size).toBe(5);
    // A chain: each task starts once the one before it has ended.
    for (let i = 1; i < job.tasks.length; i++) {
      expect(Date.parse(job.tasks[i]!.started_at!)).toBeGreaterThanOrEqual(Date.parse(job.tasks[i - 1]!.ended_at!));
    }
  });

  test("the receiver gets exactly 11 callbacks with the exact bodies, in sequence order", () => {
    const requests = receiver.at("/chain");
    expect(requests).toHaveLength(11);
    const bodies = bodiesOf(requests);
    expect(bodies.map((body) => body.sequence)).toStrictEqual(range(1, 11));
    expect(bodies).toStrictEqual(expectedChain(job, "e2e-chain", "c1", customData));
    // Start and complete alternate per task, in chain order.
    expect(bodies.slice(0, 10).map((body) => `${(body as TaskCallback).task_name}:${(body as TaskCallback).event}`)).toStrictEqual([
      "task_1:start",
      "task_1:complete",
      "task_2:start",
      "task_2:complete",
      "task_3:start",
      "task_3:complete",
      "task_4:start",
      "task_4:complete",
      "task_5:start",
      "task_5:complete",
    ]);
  });

  test("callback times are the task times GET /jobs/{id} shows, and never go back", () => {
    const bodies = bodiesOf(receiver.at("/chain"));
    expectTimesInOrder(bodies, job.created_at, doneAt);
    for (const task of job.tasks) {
      const events = bodies.filter((body): body is TaskCallback => "task_id" in body && body.task_id === task.task_id);
      expect(events.find((body) => body.event === "start")?.time).toBe(task.started_at);
      expect(events.find((body) => body.event === "complete")?.time).toBe(task.ended_at);
    }
    const last = bodies[10]!;
    expect(Date.parse(last.time)).toBeGreaterThanOrEqual(Date.parse(job.tasks[4]!.ended_at!));
  });

  test("every callback is a JSON POST with the engine's user agent and its own webhook-id", () => {
    const requests = receiver.at("/chain");
    for (const request of requests) expectCallbackHeaders(request, submittedAt, doneAt);
    expect(new Set(requests.map((request) => request.headers["webhook-id"])).size).toBe(11);
  });

  test("GET /logs/{id} lists the job's lines oldest first", async () => {
    const logs = await engine.getLogs(client, jobId);
    expect(logs.map((line) => line.message).slice(1)).toStrictEqual([
      "Task 'task_1' started",
      "'task_1' completed successfully",
      "Task 'task_2' started",
      "'task_2' completed successfully",
      "Task 'task_3' started",
      "'task_3' completed successfully",
      "Task 'task_4' started",
      "'task_4' completed successfully",
      "Task 'task_5' started",
      "'task_5' completed successfully",
      "job has completed successfully",
    ]);
    const submission = JSON.parse(logs[0]!.message) as Record<string, unknown>;
    expect(submission).toMatchObject({ path: "POST /job", payload: "job_created" });
    expect(submission.parameters).toMatchObject({ content_id: "c1", tasks: 5, custom_data: customData });
    expect(logs[0]).toMatchObject({ job_id: jobId, task_id: null, progname: "api", severity_description: "INFO", visible: true });
    const taskIds = job.tasks.map((task) => task.task_id);
    logs.slice(1, 11).forEach((line, index) => {
      expect(line).toMatchObject({ job_id: jobId, task_id: taskIds[Math.floor(index / 2)], severity: 1, severity_description: "INFO", visible: true });
    });
    expect(logs[11]).toMatchObject({ job_id: jobId, task_id: null, severity_description: "INFO" });
    for (let i = 1; i < logs.length; i++) {
      expect(logs[i]!.id).toBeGreaterThan(logs[i - 1]!.id);
      expect(logs[i]!.created_at >= logs[i - 1]!.created_at).toBe(true);
    }
    for (const line of logs) {
      expect(line.created_at).toMatch(ISO_UTC);
      expect(line.updated_at).toMatch(ISO_UTC);
    }
  });
});

describe("two callback endpoints", () => {
  test("both receive the full, identical sequence, each in order, each callback under its own webhook-id", async () => {
    const accepted = await engine.submit(client, "selftest", {
      content_id: "two",
      tasks: 5,
      rest_endpoints: [receiver.url("/two-a"), receiver.url("/two-b")],
    });
    await receiver.waitFor(
      (received) => jobCallbackArrived(accepted.id, "/two-a")(received) && jobCallbackArrived(accepted.id, "/two-b")(received),
      30_000,
      "the job callback on both endpoints",
    );
    await sleep(SETTLE_MS);
    const job = await engine.getJob(client, accepted.id);
    const a = receiver.at("/two-a");
    const b = receiver.at("/two-b");
    expect(a).toHaveLength(11);
    expect(b).toHaveLength(11);
    // custom_data was not given: the job callback says null.
    expect(bodiesOf(a)).toStrictEqual(expectedChain(job, "e2e-chain", "two", null));
    expect(b.map((request) => request.raw)).toStrictEqual(a.map((request) => request.raw));
    const ids = [...a, ...b].map((request) => request.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(22);
  });
});

describe("a failing callback endpoint", () => {
  test("is retried under the same webhook-id, keeps its order, and holds back neither the other endpoint nor the job", async () => {
    const flaky = await engine.createClient("e2e-chain-flaky");
    await engine.setSetting(flaky, "callback_retry_schedule", "0.3,0.3,0.3");
    let refused = 0;
    receiver.respondWith((request) => {
      if (request.path !== "/flaky" || refused >= 2) return 200;
      refused++;
      return 503;
    });
    try {
      const accepted = await engine.submit(flaky, "selftest", {
        content_id: "flaky",
        tasks: 5,
        rest_endpoints: [receiver.url("/flaky"), receiver.url("/steady")],
      });
      await receiver.waitFor(jobCallbackArrived(accepted.id, "/steady"), 30_000, "the job callback on the steady endpoint");
      // The steady endpoint is done while the flaky one is still behind its retries.
      const flakyWhenSteadyDone = receiver.at("/flaky").length;
      expect(flakyWhenSteadyDone).toBeLessThan(13);
      const job = await engine.waitForJob(flaky, accepted.id);
      expect(job).toMatchObject({ queue_state: "completed", failed: false });
      await receiver.waitFor(jobCallbackArrived(accepted.id, "/flaky"), 30_000, "the job callback on the flaky endpoint");
      await sleep(SETTLE_MS);

      const steady = receiver.at("/steady");
      expect(bodiesOf(steady).map((body) => body.sequence)).toStrictEqual(range(1, 11));
      const flakyRequests = receiver.at("/flaky");
      expect(flakyRequests.map((request) => request.status)).toStrictEqual([503, 503, ...Array<number>(11).fill(200)]);
      // Sequence 1 three times (two refusals, then delivered), then 2..11: nothing overtakes a callback being retried.
      expect(bodiesOf(flakyRequests).map((body) => body.sequence)).toStrictEqual([1, 1, ...range(1, 11)]);
      const first = flakyRequests.slice(0, 3);
      expect(new Set(first.map((request) => request.headers["webhook-id"])).size).toBe(1);
      expect(new Set(first.map((request) => request.raw)).size).toBe(1);
      // The retries wait the configured delay (0.3 s) each.
      expect(first[1]!.receivedAt - first[0]!.receivedAt).toBeGreaterThanOrEqual(250);
      expect(first[2]!.receivedAt - first[1]!.receivedAt).toBeGreaterThanOrEqual(250);
      expect(flakyRequests.slice(2).map((request) => request.raw)).toStrictEqual(steady.map((request) => request.raw));
    } finally {
      receiver.respondWith(() => 200);
    }
  });
});

describe("a job callback larger than a queue message", () => {
  // 200,000 characters of custom_data, echoed in the job callback: more than a queue message holds (128 KB).
  const customData = { ref: "big", blob: "é".repeat(100_000) };

  test("arrives whole and signed through the queue: its retry after a 500 carries no body, the consumer fetches it", async () => {
    // The first attempt of a job callback usually rides inline after the task callbacks; its retry is
    // sent by the coordinator's alarm through the callbacks queue.
    await engine.setSetting(client, "callback_retry_schedule", "1");
    receiver.script("/big", [200, 200, 200, 200, 500]);
    const accepted = await engine.submit(client, "selftest", {
      content_id: "big",
      tasks: 2,
      rest_endpoints: [receiver.url("/big")],
      custom_data: customData,
    });
    await receiver.waitFor((received) => received.filter((request) => request.path === "/big").length === 6, 30_000, "the large job callback, twice");
    await sleep(SETTLE_MS);
    const requests = receiver.at("/big");
    expect(bodiesOf(requests).map((body) => body.sequence)).toStrictEqual([...range(1, 5), 5]);
    expect(requests.map((request) => request.status)).toStrictEqual([200, 200, 200, 200, 500, 200]);
    const last = requests.at(-1)!;
    expect(last.body).toMatchObject({ job_id: accepted.id, status: "completed", custom_data: customData });
    const headers = Object.fromEntries(["webhook-id", "webhook-timestamp", "webhook-signature"].map((name) => [name, String(last.headers[name])]));
    expect(new Webhook(client.signingSecret).verify(last.raw, headers)).toStrictEqual(last.body);
  });
});
