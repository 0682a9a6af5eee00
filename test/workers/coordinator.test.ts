import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CallbackMessage, TaskMessage } from "../../src/queues/messages";
import { captureQueue, coordinatorOf, expireTaskDeadline, indexRow, selftestSpec, waitFor } from "./helpers";

/**
 * The JobCoordinator driven through its RPC stub, as the consumers drive it. Both queues are captured:
 * what the coordinator dispatches is observed, and no consumer runs behind the test's back.
 */

interface TaskRow {
  task_name: string;
  state: string;
  attempts: number;
}

let tasks: TaskMessage[];
let callbacks: CallbackMessage[];

beforeEach(() => {
  tasks = captureQueue<TaskMessage>(env.TASK_QUEUE);
  callbacks = captureQueue<CallbackMessage>(env.CALLBACK_QUEUE);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const CLIENT = "coordinator-client";

/** The job's tasks as GET /jobs/{id} shows them: the coordinator is their only store. */
async function taskRows(jobId: string): Promise<TaskRow[]> {
  const job = await coordinatorOf(jobId).view(CLIENT);
  return (job?.tasks ?? []).map(({ task_name, state, attempts }) => ({ task_name, state, attempts }));
}

/** The job's tasks, which must be in these states. */
async function projected(jobId: string, expected: [string, string, number][]): Promise<void> {
  expect((await taskRows(jobId)).map((row) => [row.task_name, row.state, row.attempts])).toEqual(expected);
}

async function logMessages(jobId: string): Promise<string[]> {
  return ((await coordinatorOf(jobId).logs(CLIENT)) ?? []).map((line) => line.message);
}

/** What snapshot() shows of the job itself (the cost ledger and the index bookkeeping move on their own). */
async function jobState(jobId: string) {
  const snapshot = await coordinatorOf(jobId).snapshot();
  if (!snapshot) return null;
  const { ledger: _ledger, indexPending: _pending, updatedAt: _updated, ...rest } = snapshot;
  return rest;
}

describe("JobCoordinator", () => {
  it("stores a new job, indexes it in D1 and dispatches its first ready task; a second start changes nothing", async () => {
    const spec = selftestSpec({ tasks: 3 });
    const coordinator = coordinatorOf(spec.jobId);
    expect(await coordinator.start(spec)).toEqual({ started: true });
    expect(await coordinator.start({ ...spec, priority: 1 })).toEqual({ started: false });

    await waitFor(async () => tasks.length, (count) => count > 0);
    expect(tasks).toEqual([{ jobId: spec.jobId, task: "task_1", attempt: 1 }]);
    // GET /jobs/{id} is answered by the coordinator at once; the D1 job index row follows within moments.
    expect(await coordinatorOf(spec.jobId).view(CLIENT)).toMatchObject({ id: spec.jobId, queue_state: "started" });
    const job = await indexRow(spec.jobId);
    expect(job).toMatchObject({
      queue_state: "started",
      client: spec.client,
      workflow: "selftest",
      content_id: "content-1",
      priority: 5,
      failed: 0,
      persist: 0,
      parameters: JSON.stringify(spec.submittedParameters),
    });
    await projected(spec.jobId, [
      ["task_1", "dispatched", 1],
      ["task_2", "pending", 0],
      ["task_3", "pending", 0],
    ]);
    expect((await coordinator.logs(CLIENT))!.map(({ id, progname, severity, message }) => ({ id, progname, severity, message }))).toEqual([
      { id: 1, progname: "api", severity: 1, message: "submitted by a test" },
    ]);
    expect(tasks).toHaveLength(1);
  });

  it("dispatches every independent task of a fan-out at once", async () => {
    const spec = selftestSpec({ tasks: 4, shape: "fanout" });
    await coordinatorOf(spec.jobId).start(spec);
    await waitFor(async () => tasks.length, (count) => count >= 4);
    expect(tasks.map((message) => [message.task, message.attempt])).toEqual([
      ["task_1", 1],
      ["task_2", 1],
      ["task_3", 1],
      ["task_4", 1],
    ]);
  });

  it("refuses claims that are stale, early, unknown or duplicate; the claim carrying the attempt wins once", async () => {
    const spec = selftestSpec({ tasks: 2 });
    const coordinator = coordinatorOf(spec.jobId);
    await coordinator.start(spec);

    expect(await coordinator.claim("task_1", 2)).toEqual({ ok: false, reason: "task is dispatched at attempt 1" });
    expect(await coordinator.claim("task_1", 0)).toEqual({ ok: false, reason: "stale attempt 0 (current 1)" });
    expect(await coordinator.claim("task_2", 1)).toEqual({ ok: false, reason: "task is pending at attempt 0" });
    expect(await coordinator.claim("task_9", 1)).toEqual({ ok: false, reason: "unknown task" });
    expect(await coordinator.claim("__proto__", 1)).toEqual({ ok: false, reason: "unknown task" });

    const claimed = await coordinator.claim("task_1", 1);
    expect(claimed).toEqual({
      ok: true,
      assignment: {
        jobId: spec.jobId,
        client: spec.client,
        workflow: "selftest",
        task: "task_1",
        taskId: expect.any(String),
        attempt: 1,
        executor: "selftest.wait",
        input: { task_ms: 0, fail_times: 0 },
        timeoutMs: 10_000,
      },
    });
    expect(await coordinator.claim("task_1", 1)).toEqual({ ok: false, reason: "task is running at attempt 1" });
    await projected(spec.jobId, [
      ["task_1", "running", 1],
      ["task_2", "pending", 0],
    ]);
    // One start line: the refused claims left no trace.
    expect((await logMessages(spec.jobId)).filter((message) => message.startsWith("Task 'task_1' started"))).toHaveLength(1);
  });

  it("dispatches the next task when one completes; a repeated or stale report changes nothing", async () => {
    const spec = selftestSpec({ tasks: 3 });
    const coordinator = coordinatorOf(spec.jobId);
    await coordinator.start(spec);
    await coordinator.claim("task_1", 1);

    expect(await coordinator.complete("task_1", 1, { waited_ms: 0 }, false)).toBeNull();
    await waitFor(async () => tasks.length, (count) => count >= 2);
    expect(tasks.map((message) => [message.task, message.attempt])).toEqual([
      ["task_1", 1],
      ["task_2", 1],
    ]);
    const before = await jobState(spec.jobId);

    expect(await coordinator.complete("task_1", 1, { waited_ms: 0 }, true)).toBeNull();
    await coordinator.fail("task_1", 1, "late failure", true);
    await coordinator.complete("task_2", 1, null, false);
    expect(await jobState(spec.jobId)).toEqual(before);
    expect(tasks).toHaveLength(2);
    await projected(spec.jobId, [
      ["task_1", "completed", 1],
      ["task_2", "dispatched", 1],
      ["task_3", "pending", 0],
    ]);
  });

  it("hands the next task to a reporter that asks for it, already claimed and without a queue message", async () => {
    const spec = selftestSpec({ tasks: 2 });
    const coordinator = coordinatorOf(spec.jobId);
    await coordinator.start(spec);
    await coordinator.claim("task_1", 1);

    const next = await coordinator.complete("task_1", 1, { waited_ms: 0 }, true);
    expect(next).toMatchObject({ jobId: spec.jobId, task: "task_2", attempt: 1, executor: "selftest.wait" });
    // The hand-off is the claim: nobody else may run this attempt.
    expect(await coordinator.claim("task_2", 1)).toEqual({ ok: false, reason: "task is running at attempt 1" });
    await projected(spec.jobId, [
      ["task_1", "completed", 1],
      ["task_2", "running", 1],
    ]);
    expect(tasks.map((message) => message.task)).toEqual(["task_1"]);

    // The last task's completion has nothing to hand over, and ends the job.
    expect(await coordinator.complete("task_2", 1, { waited_ms: 0 }, true)).toBeNull();
    expect((await coordinator.snapshot())?.state.outcome).toBe("completed");
  });

  it("keeps a finished job: index row with result, tasks, ordered log, one callback per event and endpoint, sent in runs", async () => {
    const endpoints = ["https://one.receiver.invalid/hook", "https://two.receiver.invalid/hook"];
    const spec = selftestSpec({ tasks: 2, rest_endpoints: endpoints, custom_data: { ref: "r-9" } });
    const coordinator = coordinatorOf(spec.jobId);
    await coordinator.start(spec);
    await coordinator.claim("task_1", 1);
    const next = await coordinator.complete("task_1", 1, { waited_ms: 0 }, true);
    expect(next?.task).toBe("task_2");
    await coordinator.complete("task_2", 1, { waited_ms: 0 }, true);

    const job = await indexRow(spec.jobId);
    expect(job).toMatchObject({
      queue_state: "completed",
      failed: 0,
      progress: 100,
      result: JSON.stringify({ message: "2 tasks completed (chain)" }),
      ended_at: expect.stringMatching(/Z$/),
    });
    await projected(spec.jobId, [
      ["task_1", "completed", 1],
      ["task_2", "completed", 1],
    ]);
    expect(await logMessages(spec.jobId)).toEqual([
      "submitted by a test",
      "Task 'task_1' started",
      "'task_1' completed successfully",
      "Task 'task_2' started",
      "'task_2' completed successfully",
      "job has completed successfully",
    ]);

    const events = ["task.start", "task.complete", "task.start", "task.complete", "job.end"];
    const log = (await coordinator.deliveries(CLIENT))!;
    expect(log).toHaveLength(10);
    for (const endpoint of endpoints) {
      const line = log.filter((row) => row.endpoint === endpoint);
      expect(line.map((row) => [row.sequence, row.event])).toEqual(events.map((event, index) => [index + 1, event]));
      // The first callback went out as soon as it was made; the rest wait for it, then go out as one run.
      expect(line.map((row) => row.state)).toEqual(["in_flight", "pending", "pending", "pending", "pending"]);
    }

    await waitFor(async () => callbacks.length, (count) => count >= 2);
    expect(callbacks.map((message) => [message.endpoint, message.deliveries.map((delivery) => delivery.attempt)])).toEqual(endpoints.map((endpoint) => [endpoint, [1]]));
    expect(JSON.parse(callbacks[0]!.deliveries[0]!.body!)).toEqual({
      job_id: spec.jobId,
      task_id: (await coordinator.snapshot())!.state.tasks.task_1!.id,
      task_name: "task_1",
      workflow: "selftest",
      event: "start",
      content_id: "content-1",
      message: "",
      time: expect.stringMatching(/Z$/),
      client: spec.client,
      sequence: 1,
      attempt: 1,
    });
  });

  it("on its alarm, dispatches again a task whose dispatch lease passed without a claim", async () => {
    const spec = selftestSpec({ tasks: 1 });
    const coordinator = coordinatorOf(spec.jobId);
    await coordinator.start(spec);
    await waitFor(async () => tasks.length, (count) => count === 1);

    // Nothing is due yet: the alarm (armed for the lease) leaves the task alone.
    expect(await runDurableObjectAlarm(coordinator)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(tasks).toHaveLength(1);

    await expireTaskDeadline(spec.jobId, "task_1");
    expect(await runDurableObjectAlarm(coordinator)).toBe(true);
    await waitFor(async () => tasks.length, (count) => count === 2);
    expect(tasks[1]).toEqual({ jobId: spec.jobId, task: "task_1", attempt: 1 });
    await waitFor(
      () => logMessages(spec.jobId),
      (messages) => messages.includes("'task_1' was not claimed in time; dispatching attempt 1 again"),
    );

    // Both messages carry attempt 1: whichever is claimed first runs, the other is refused.
    expect((await coordinator.claim("task_1", 1)).ok).toBe(true);
    expect(await coordinator.claim("task_1", 1)).toEqual({ ok: false, reason: "task is running at attempt 1" });
  });

  it("keeps its D1 index row current after an alarm that found nothing to do", async () => {
    const spec = selftestSpec({ tasks: 1 });
    const coordinator = coordinatorOf(spec.jobId);
    await coordinator.start(spec);
    await projected(spec.jobId, [["task_1", "dispatched", 1]]);
    expect(await runDurableObjectAlarm(coordinator)).toBe(true);

    expect((await coordinator.claim("task_1", 1)).ok).toBe(true);
    await coordinator.complete("task_1", 1, null, false);
    expect(await indexRow(spec.jobId)).toMatchObject({ queue_state: "completed", progress: 100 });
  });

  it("on its alarm, fails an attempt that ran past its lease as timed out and retries it after the delay", async () => {
    const spec = selftestSpec({ tasks: 2, rest_endpoints: ["https://receiver.invalid/hook"] }, { retryDelayMs: 60_000 });
    const coordinator = coordinatorOf(spec.jobId);
    await coordinator.start(spec);
    await coordinator.claim("task_1", 1);

    await expireTaskDeadline(spec.jobId, "task_1");
    expect(await runDurableObjectAlarm(coordinator)).toBe(true);
    const retrying = (await coordinator.snapshot())!.state.tasks.task_1!;
    expect(retrying).toMatchObject({ status: "retrying", attempt: 1, message: "attempt 1 timed out after 10 s" });
    // 60 s with the policy's ±20 % jitter.
    expect(retrying.deadline! - Date.now()).toBeGreaterThan(40_000);
    expect(retrying.deadline! - Date.now()).toBeLessThanOrEqual(72_000);
    await projected(spec.jobId, [
      ["task_1", "retrying", 1],
      ["task_2", "pending", 0],
    ]);
    const warning = (await logMessages(spec.jobId)).find((message) => message.includes("timed out"));
    expect(warning).toMatch(/^'task_1' failed: attempt 1 timed out after 10 s \(attempt 1, retrying in \d+\.\d s\)$/);
    expect((await coordinator.deliveries(CLIENT))!.map((row) => row.event)).toEqual(["task.start", "task.fail"]);

    // The attempt's late report is ignored.
    await coordinator.complete("task_1", 1, { waited_ms: 0 }, false);
    expect((await coordinator.snapshot())!.state.tasks.task_1!.status).toBe("retrying");

    // When the retry comes due, attempt 2 is dispatched; attempt 1 can no longer be claimed.
    await expireTaskDeadline(spec.jobId, "task_1");
    expect(await runDurableObjectAlarm(coordinator)).toBe(true);
    await waitFor(async () => tasks.length, (count) => count === 2);
    expect(tasks[1]).toEqual({ jobId: spec.jobId, task: "task_1", attempt: 2 });
    expect(await coordinator.claim("task_1", 1)).toEqual({ ok: false, reason: "stale attempt 1 (current 2)" });
    const second = await coordinator.claim("task_1", 2);
    expect(second.ok && second.assignment.attempt).toBe(2);
    await projected(spec.jobId, [
      ["task_1", "running", 2],
      ["task_2", "pending", 0],
    ]);
  });

  it("keeps its state across an eviction: the reloaded coordinator holds the same job and carries on", async () => {
    const spec = selftestSpec({ tasks: 3, rest_endpoints: ["https://receiver.invalid/hook"] });
    const coordinator = coordinatorOf(spec.jobId);
    await coordinator.start(spec);
    await coordinator.claim("task_1", 1);
    await coordinator.complete("task_1", 1, { waited_ms: 5 }, false);
    const before = await jobState(spec.jobId);

    await evictDurableObject(coordinator);
    expect(await jobState(spec.jobId)).toEqual(before);

    // A duplicate from before the restart is still refused; the next task still runs.
    expect(await coordinator.claim("task_1", 1)).toEqual({ ok: false, reason: "task is completed at attempt 1" });
    expect((await coordinator.claim("task_2", 1)).ok).toBe(true);
    const third = await coordinator.complete("task_2", 1, null, true);
    expect(third?.task).toBe("task_3");
    await evictDurableObject(coordinator);
    await coordinator.complete("task_3", 1, null, false);
    const after = (await coordinator.snapshot())!;
    expect(after.state.outcome).toBe("completed");
    expect(after.state.nextSequence).toBe(8);
    await projected(spec.jobId, [
      ["task_1", "completed", 1],
      ["task_2", "completed", 1],
      ["task_3", "completed", 1],
    ]);
    expect((await coordinator.deliveries(CLIENT))!.map((row) => row.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
