import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { TaskMessage } from "../../src/queues/messages";
import {
  captureQueue,
  coordinatorOf,
  createClient,
  deliverBatch,
  getJson,
  jobObject,
  postJson,
  submitSelftest,
  waitFor,
  waitForJobEnd,
  type LogLine,
} from "./helpers";

/**
 * The tasks consumer, fed batches built with createMessageBatch through the worker's queue handler.
 * TASK_QUEUE is captured, so the only consumer that sees a job's messages is the one the test calls.
 */

const QUEUE = "task-engine-tasks";
const SETTLED_ALONE = { outcome: "ok", ackAll: false, retryBatch: { retry: false } };

let headers: Record<string, string>;
let dispatched: TaskMessage[];

beforeAll(async () => {
  headers = await createClient("consumer-client");
  // Retries without delay, so a failed attempt's successor is dispatched at once.
  const response = await postJson("/settings", { name: "retry_delay", setting: "0" }, headers);
  expect(response.status).toBe(200);
});

beforeEach(() => {
  dispatched = captureQueue<TaskMessage>(env.TASK_QUEUE);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Submits a job and returns the message of its first task, as the coordinator dispatched it. */
async function submitAndTakeFirst(parameters: Record<string, unknown>): Promise<{ id: string; message: TaskMessage }> {
  const id = await submitSelftest(headers, parameters);
  const message = await waitFor(
    async () => dispatched.find((sent) => sent.jobId === id),
    (found) => found !== undefined,
  );
  return { id, message: message! };
}

async function startedLines(id: string): Promise<string[]> {
  const { body } = await getJson<LogLine[]>(`/logs/${id}`, headers);
  return body.filter((line) => line.message.startsWith("Task '")).map((line) => line.message);
}

describe("tasks consumer", () => {
  it("acks a valid message and runs its task, then the chain's next tasks in the same invocation", async () => {
    const { id, message } = await submitAndTakeFirst({ content_id: "run-me", tasks: 3 });
    expect(message).toEqual({ jobId: id, task: "task_1", attempt: 1 });

    const result = await deliverBatch(QUEUE, [{ id: "m-1", body: message }]);
    expect(result).toEqual({ ...SETTLED_ALONE, explicitAcks: ["m-1"], retryMessages: [] });

    const job = await waitForJobEnd(id, headers);
    expect(job.failed).toBe(false);
    expect(job.tasks!.map((task) => [task.task_name, task.state, task.attempts])).toEqual([
      ["task_1", "completed", 1],
      ["task_2", "completed", 1],
      ["task_3", "completed", 1],
    ]);
    // task_2 and task_3 were handed to the consumer by the coordinator, not sent through the queue.
    expect(dispatched.filter((sent) => sent.jobId === id)).toHaveLength(1);
  });

  it("acks and drops a duplicate, in the same batch or delivered later: the task runs once", async () => {
    const { id, message } = await submitAndTakeFirst({ content_id: "twice", tasks: 1, task_ms: 50 });

    const result = await deliverBatch(QUEUE, [
      { id: "dup-a", body: message },
      { id: "dup-b", body: message },
    ]);
    expect(result).toEqual({ ...SETTLED_ALONE, explicitAcks: ["dup-a", "dup-b"], retryMessages: [] });
    const ended = await waitForJobEnd(id, headers);
    expect(ended.tasks![0]).toMatchObject({ state: "completed", attempts: 1 });
    expect(await startedLines(id)).toEqual(["Task 'task_1' started"]);

    const late = await deliverBatch(QUEUE, [{ id: "dup-late", body: message, attempts: 3 }]);
    expect(late).toEqual({ ...SETTLED_ALONE, explicitAcks: ["dup-late"], retryMessages: [] });
    expect(await jobObject(id, headers)).toEqual(ended);
    expect(await startedLines(id)).toEqual(["Task 'task_1' started"]);
  });

  it("acks and drops a stale message of an earlier attempt; the current attempt's message runs", async () => {
    const { id, message } = await submitAndTakeFirst({ content_id: "stale", tasks: 1, fail_task: "task_1", fail_times: 1 });

    expect(await deliverBatch(QUEUE, [{ id: "first", body: message }])).toMatchObject({ explicitAcks: ["first"], retryMessages: [] });
    // The attempt failed; after the (zero) retry delay the coordinator's alarm dispatches attempt 2.
    const retry = await waitFor(
      async () => dispatched.find((sent) => sent.jobId === id && sent.attempt === 2),
      (found) => found !== undefined,
    );
    expect(retry).toEqual({ jobId: id, task: "task_1", attempt: 2 });

    expect(await deliverBatch(QUEUE, [{ id: "stale", body: message, attempts: 2 }])).toMatchObject({
      explicitAcks: ["stale"],
      retryMessages: [],
    });
    expect((await coordinatorState(id)).tasks.task_1).toMatchObject({ status: "dispatched", attempt: 2 });

    expect(await deliverBatch(QUEUE, [{ id: "current", body: retry! }])).toMatchObject({ explicitAcks: ["current"], retryMessages: [] });
    const job = await waitForJobEnd(id, headers);
    expect(job.failed).toBe(false);
    expect(job.tasks![0]).toMatchObject({ state: "completed", attempts: 2 });
    expect(await startedLines(id)).toEqual(["Task 'task_1' started", "Task 'task_1' started (attempt 2)"]);
  });

  it("settles a mixed batch message by message: only the message whose coordinator is unreachable is retried", async () => {
    const healthy = await submitAndTakeFirst({ content_id: "healthy", tasks: 1 });
    const unlucky = await submitAndTakeFirst({ content_id: "unlucky", tasks: 1 });
    const bindings = { JOB_COORDINATOR: namespaceUnreachableFor(unlucky.id) };

    const result = await deliverBatch(
      QUEUE,
      [
        { id: "ok", body: healthy.message },
        { id: "unknown-task", body: { ...healthy.message, task: "task_9" } },
        { id: "unknown-job", body: { jobId: "01JD5Q3Y8Z6K7M8N9P0QRSTVWX", task: "task_1", attempt: 1 } },
        { id: "down", body: unlucky.message, attempts: 3 },
      ],
      bindings,
    );
    expect(result).toEqual({
      ...SETTLED_ALONE,
      explicitAcks: ["ok", "unknown-job", "unknown-task"],
      // Backoff of the queue retry: 2^attempts seconds.
      retryMessages: [{ msgId: "down", delaySeconds: 8 }],
    });
    expect((await waitForJobEnd(healthy.id, headers)).failed).toBe(false);
    expect((await jobObject(unlucky.id, headers)).tasks![0]).toMatchObject({ state: "dispatched", attempts: 1 });

    // Redelivered once the coordinator answers again, the retried message runs its task.
    expect(await deliverBatch(QUEUE, [{ id: "down", body: unlucky.message, attempts: 4 }])).toMatchObject({
      explicitAcks: ["down"],
      retryMessages: [],
    });
    expect((await waitForJobEnd(unlucky.id, headers)).failed).toBe(false);
  });

  it("retries a malformed message on its own and still acks the rest of its batch", async () => {
    const { id, message } = await submitAndTakeFirst({ content_id: "neighbour", tasks: 1 });
    const result = await deliverBatch(QUEUE, [
      { id: "malformed", body: null },
      { id: "fine", body: message },
    ]);
    expect(result.explicitAcks).toEqual(["fine"]);
    expect(result.retryMessages.map((retry) => retry.msgId)).toEqual(["malformed"]);
    expect((await waitForJobEnd(id, headers)).failed).toBe(false);
  });
});

async function coordinatorState(id: string) {
  return (await coordinatorOf(id).snapshot())!.state;
}

/**
 * JOB_COORDINATOR as the consumer sees it when one job's Durable Object cannot be reached (overloaded,
 * being reset): every call to that object rejects, the others pass through.
 */
function namespaceUnreachableFor(jobId: string): Env["JOB_COORDINATOR"] {
  const real = env.JOB_COORDINATOR;
  const down = real.idFromName(jobId);
  const unreachable = () => Promise.reject(new Error("Durable Object is overloaded. Too many requests queued."));
  const stub = { claim: unreachable, complete: unreachable, fail: unreachable, progress: unreachable };
  const namespace = {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => (id.equals(down) ? stub : real.get(id)),
  };
  return namespace as unknown as Env["JOB_COORDINATOR"];
}
