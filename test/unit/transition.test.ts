import { describe, expect, it } from "vitest";
import type { JobEvent } from "../../src/domain/job-events";
import { initialJobState, nextTaskDeadline } from "../../src/domain/job-graph";
import { jobProgress } from "../../src/domain/job-state";
import { transition } from "../../src/domain/transition";
import {
  chain,
  deepFreeze,
  DISPATCH_LEASE_MS,
  dispatches,
  endings,
  fanout,
  LEASE_GRACE_MS,
  notices,
  plan,
  Run,
  script,
  T0,
} from "./support";

describe("start", () => {
  it("dispatches only the first task of a chain, with a lease", () => {
    const run = new Run(chain(3));
    const result = run.start();
    expect(result.applied).toBe(true);
    expect(dispatches(result.effects)).toEqual([{ task: "t1", attempt: 1 }]);
    expect(run.state.tasks.t1).toMatchObject({ status: "dispatched", attempt: 1, deadline: T0 + DISPATCH_LEASE_MS });
    expect([run.status("t2"), run.status("t3")]).toEqual(["pending", "pending"]);
    expect(notices(result.effects)).toEqual([]);
    expect(nextTaskDeadline(run.state)).toBe(T0 + DISPATCH_LEASE_MS);
  });

  it("dispatches every task of a fan-out at once", () => {
    const run = new Run(fanout(4));
    expect(dispatches(run.start().effects)).toEqual([1, 2, 3, 4].map((i) => ({ task: `t${i}`, attempt: 1 })));
  });

  it("is applied once; a second start is ignored", () => {
    const run = new Run(chain(2));
    run.start();
    const again = run.start();
    expect(again).toMatchObject({ applied: false, reason: "job already started", effects: [] });
  });

  it("a job whose tasks are all skipped completes on start with one job callback", () => {
    const run = new Run([{ name: "a", skip: true }, { name: "b", skip: true, needs: ["a"] }]);
    const result = run.start();
    expect(script(notices(result.effects))).toEqual(["job:completed"]);
    expect(notices(result.effects)[0]).toMatchObject({ kind: "job", sequence: 1, message: "" });
    expect(endings(result.effects)).toEqual(["completed"]);
    expect(run.state).toMatchObject({ outcome: "completed", endedAt: T0 });
    expect(jobProgress(run.state)).toBe(100);
  });
});

describe("claims", () => {
  it("a claim starts the attempt and sends `start` callbacks numbered 1, 2, … without gaps", () => {
    const run = new Run(fanout(3));
    run.start();
    run.claim("t2", 1);
    run.now += 10;
    run.claim("t1", 1);
    run.claim("t3", 1);
    expect(run.state.tasks.t2).toMatchObject({
      status: "running",
      attempt: 1,
      startedAt: T0,
      deadline: T0 + 60_000 + LEASE_GRACE_MS,
    });
    expect(run.notices()).toEqual([
      { kind: "task", sequence: 1, event: "start", task: "t2", taskId: "id_t2", attempt: 1, message: "", time: T0 },
      { kind: "task", sequence: 2, event: "start", task: "t1", taskId: "id_t1", attempt: 1, message: "", time: T0 + 10 },
      { kind: "task", sequence: 3, event: "start", task: "t3", taskId: "id_t3", attempt: 1, message: "", time: T0 + 10 },
    ]);
    expect(run.state.nextSequence).toBe(4);
  });

  it("a duplicate claim is ignored with a reason and returns the same state object", () => {
    const run = new Run(chain(2));
    run.start();
    run.claim("t1", 1);
    const before = run.state;
    const duplicate = run.claim("t1", 1);
    expect(duplicate).toEqual({ state: before, effects: [], applied: false, reason: "task is running at attempt 1" });
    expect(duplicate.state).toBe(before);
  });

  it("claims for an unknown task, a task not yet dispatched, or an attempt from the future are ignored", () => {
    const run = new Run(chain(2));
    run.start();
    expect(run.claim("nope", 1).reason).toBe("unknown task");
    expect(run.claim("toString", 1).reason).toBe("unknown task");
    expect(run.claim("t2", 1).reason).toBe("task is pending at attempt 0");
    expect(run.claim("t1", 2).reason).toBe("task is dispatched at attempt 1");
    expect(run.notices()).toEqual([]);
  });

  it("a claim of an earlier attempt is stale", () => {
    const run = new Run(chain(1));
    run.start();
    run.claim("t1", 1);
    run.fail("t1");
    run.tick(run.state.tasks.t1!.deadline!);
    expect(run.state.tasks.t1).toMatchObject({ status: "dispatched", attempt: 2 });
    expect(run.claim("t1", 1)).toMatchObject({ applied: false, reason: "stale attempt 1 (current 2)" });
    expect(run.claim("t1", 2).applied).toBe(true);
  });
});

describe("reports", () => {
  it("complete records the output and dispatches the dependents that became ready", () => {
    const run = new Run([{ name: "a" }, { name: "b", needs: ["a"] }, { name: "c", needs: ["a", "b"] }]);
    run.start();
    run.claim("a");
    const done = run.send({ type: "complete", task: "a", attempt: 1, output: { files: ["x"] } }, T0 + 500);
    expect(dispatches(done.effects)).toEqual([{ task: "b", attempt: 1 }]);
    expect(run.state.tasks.a).toMatchObject({ status: "completed", output: { files: ["x"] }, endedAt: T0 + 500, deadline: null, progress: 100 });
    expect(notices(done.effects)).toEqual([
      { kind: "task", sequence: 2, event: "complete", task: "a", taskId: "id_a", attempt: 1, message: "", time: T0 + 500 },
    ]);
    run.runToCompletion("b");
    expect(dispatches(run.history.at(-1)!.effects)).toEqual([{ task: "c", attempt: 1 }]);
    run.runToCompletion("c");
    expect(script(run.notices())).toEqual([
      "a:start",
      "a:complete",
      "b:start",
      "b:complete",
      "c:start",
      "c:complete",
      "job:completed",
    ]);
    expect(run.notices().map((n) => n.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(endings(run.effects)).toEqual(["completed"]);
  });

  it("a complete without output stores null", () => {
    const run = new Run(chain(1));
    run.start();
    run.claim("t1");
    run.send({ type: "complete", task: "t1", attempt: 1, output: undefined });
    expect(run.state.tasks.t1!.output).toBeNull();
  });

  it("a late or repeated complete is ignored", () => {
    const run = new Run(chain(2));
    run.start();
    run.claim("t1");
    run.complete("t1", 1);
    const late = run.complete("t1", 1);
    expect(late).toMatchObject({ applied: false, reason: "task is completed at attempt 1", effects: [] });
    expect(run.fail("t1", "x", true, 1).reason).toBe("task is completed at attempt 1");
    expect(run.complete("t2", 1).reason).toBe("task is dispatched at attempt 1");
  });

  it("takeNext hands the first newly ready task to the reporter, already running, and dispatches the rest", () => {
    const run = new Run([{ name: "a" }, { name: "b", needs: ["a"] }, { name: "c", needs: ["a"] }, { name: "d", needs: ["a"] }]);
    run.start();
    run.claim("a");
    const result = run.complete("a", 1, true);
    expect(result.effects.filter((e) => e.type === "handoff")).toEqual([{ type: "handoff", task: "b", attempt: 1 }]);
    expect(dispatches(result.effects)).toEqual([
      { task: "c", attempt: 1 },
      { task: "d", attempt: 1 },
    ]);
    expect(run.state.tasks.b).toMatchObject({ status: "running", attempt: 1, deadline: T0 + 60_000 + LEASE_GRACE_MS });
    expect(script(notices(result.effects))).toEqual(["a:complete", "b:start"]);
    expect(notices(result.effects).map((n) => n.sequence)).toEqual([2, 3]);
    // The reporter already holds attempt 1 of b: a claim of it through the queue is refused.
    expect(run.claim("b", 1).reason).toBe("task is running at attempt 1");
    expect(run.complete("b", 1).applied).toBe(true);
  });

  it("takeNext with nothing ready hands nothing off", () => {
    const run = new Run(fanout(2));
    run.start();
    run.claim("t1");
    const result = run.complete("t1", 1, true);
    expect(result.effects.some((e) => e.type === "handoff" || e.type === "dispatch")).toBe(false);
  });

  it("progress is clamped to 0-100; an unchanged or stale progress is ignored", () => {
    const run = new Run(chain(1));
    run.start();
    expect(run.send({ type: "progress", task: "t1", attempt: 1, progress: 50 }).reason).toBe("task is dispatched at attempt 1");
    run.claim("t1");
    expect(run.send({ type: "progress", task: "t1", attempt: 1, progress: 142.7 }).applied).toBe(true);
    expect(run.state.tasks.t1!.progress).toBe(100);
    expect(run.send({ type: "progress", task: "t1", attempt: 1, progress: 100 }).reason).toBe("progress unchanged");
    run.send({ type: "progress", task: "t1", attempt: 1, progress: -3 });
    expect(run.state.tasks.t1!.progress).toBe(0);
    expect(notices(run.effects).length).toBe(1);
  });
});

describe("retries", () => {
  it("a retryable failure waits for its backoff, then dispatches the next attempt", () => {
    const run = new Run(chain(2, { limit: 3, delayMs: 1_000, backoff: 2 }));
    run.start();
    run.claim("t1");
    const failed = run.fail("t1", "disk on fire");
    const task = run.state.tasks.t1!;
    expect(task).toMatchObject({ status: "retrying", attempt: 1, message: "disk on fire" });
    expect(notices(failed.effects)).toEqual([
      {
        kind: "task",
        sequence: 2,
        event: "fail",
        task: "t1",
        taskId: "id_t1",
        attempt: 1,
        message: "disk on fire",
        retrying: true,
        time: T0,
      },
    ]);
    expect(dispatches(failed.effects)).toEqual([]);
    // ±20 % jitter around the 1 s delay.
    expect(task.deadline! - T0).toBeGreaterThanOrEqual(800);
    expect(task.deadline! - T0).toBeLessThanOrEqual(1_200);
    expect(nextTaskDeadline(run.state)).toBe(task.deadline);

    expect(run.tick(task.deadline! - 1)).toMatchObject({ applied: false, reason: "nothing due" });
    const due = run.tick(task.deadline!);
    expect(dispatches(due.effects)).toEqual([{ task: "t1", attempt: 2 }]);
    expect(run.state.tasks.t1).toMatchObject({ status: "dispatched", attempt: 2, deadline: task.deadline! + DISPATCH_LEASE_MS });
    expect(run.status("t2")).toBe("pending");
  });

  it("the second retry waits about twice as long as the first (backoff 2)", () => {
    const run = new Run(chain(1, { limit: 3, delayMs: 10_000, backoff: 2 }));
    run.start();
    run.claim("t1");
    run.fail("t1");
    const first = run.state.tasks.t1!.deadline! - run.now;
    run.tick(run.state.tasks.t1!.deadline!);
    run.claim("t1");
    run.fail("t1");
    const second = run.state.tasks.t1!.deadline! - run.now;
    expect(first).toBeGreaterThanOrEqual(8_000);
    expect(first).toBeLessThanOrEqual(12_000);
    expect(second).toBeGreaterThanOrEqual(16_000);
    expect(second).toBeLessThanOrEqual(24_000);
  });

  it("fail_times 2 with limit 3: start, fail(retrying), start, fail(retrying), start, complete, job completed", () => {
    const run = new Run(chain(1, { limit: 3 }));
    run.start();
    for (let attempt = 1; attempt <= 2; attempt++) {
      run.claim("t1", attempt);
      run.fail("t1", `attempt ${attempt} failed on request`);
      run.tick(run.state.tasks.t1!.deadline!);
    }
    run.claim("t1", 3);
    run.complete("t1", 3);
    const list = run.notices();
    expect(script(list)).toEqual([
      "t1:start",
      "t1:fail:retrying",
      "t1:start",
      "t1:fail:retrying",
      "t1:start",
      "t1:complete",
      "job:completed",
    ]);
    expect(list.map((n) => n.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(list.map((n) => (n.kind === "task" ? n.attempt : null))).toEqual([1, 1, 2, 2, 3, 3, null]);
    expect(endings(run.effects)).toEqual(["completed"]);
    expect(run.state.tasks.t1!.startedAt).toBe(T0);
  });

  it("after the limit the task fails, dependents are cancelled transitively, other branches finish, the job fails once", () => {
    // Definition order deliberately not topological: `c` is listed before what it needs.
    const run = new Run([
      { name: "c", needs: ["b"] },
      { name: "a", limit: 1 },
      { name: "b", needs: ["a"] },
      { name: "d" },
      { name: "e", needs: ["d"] },
    ]);
    run.start();
    expect(dispatches(run.effects)).toEqual([
      { task: "a", attempt: 1 },
      { task: "d", attempt: 1 },
    ]);
    run.claim("d");
    run.claim("a");
    run.fail("a", "first");
    run.tick(run.state.tasks.a!.deadline!);
    run.claim("a", 2);
    const final = run.fail("a", "source missing");
    expect(notices(final.effects)[0]).toMatchObject({ event: "fail", task: "a", attempt: 2, message: "source missing", retrying: false });
    expect(run.state.tasks.a).toMatchObject({ status: "failed", deadline: null, message: "source missing" });
    expect([run.status("b"), run.status("c")]).toEqual(["cancelled", "cancelled"]);
    expect(run.state.tasks.c!.message).toBe("cancelled: 'a' failed");
    expect(run.status("d")).toBe("running");
    expect(run.state.outcome).toBe("running");
    expect(endings(run.effects)).toEqual([]);

    run.complete("d");
    expect(dispatches(run.history.at(-1)!.effects)).toEqual([{ task: "e", attempt: 1 }]);
    run.runToCompletion("e");
    expect(run.state).toMatchObject({ outcome: "failed", failureMessage: "source missing" });
    const jobNotices = run.notices().filter((n) => n.kind === "job");
    expect(jobNotices).toEqual([{ kind: "job", sequence: 9, status: "failed", message: "source missing", time: run.now }]);
    expect(endings(run.effects)).toEqual(["failed"]);
    // Cancelled tasks never started, so they send nothing.
    expect(run.notices().filter((n) => n.kind === "task" && (n.task === "b" || n.task === "c"))).toEqual([]);
  });

  it("the first task to fail for good names the job failure, not a later one", () => {
    const run = new Run(fanout(2, { limit: 0 }));
    run.start();
    run.claim("t1");
    run.claim("t2");
    run.fail("t2", "t2 broke first");
    run.fail("t1", "t1 broke later");
    expect(run.notices().at(-1)).toMatchObject({ kind: "job", status: "failed", message: "t2 broke first" });
  });

  it("a non-retryable error fails the task at once whatever the limit", () => {
    const run = new Run(chain(2, { limit: 3 }));
    run.start();
    run.claim("t1");
    run.fail("t1", "bad credentials", false);
    expect(run.status("t1")).toBe("failed");
    expect(run.status("t2")).toBe("cancelled");
    expect(script(run.notices())).toEqual(["t1:start", "t1:fail:final", "job:failed"]);
    expect(run.state.failureMessage).toBe("bad credentials");
  });

  it("limit 0 means a single attempt", () => {
    const run = new Run(chain(1, { limit: 0 }));
    run.start();
    run.claim("t1");
    run.fail("t1", "nope");
    expect(run.state.outcome).toBe("failed");
  });
});

describe("leases", () => {
  it("a dispatched task whose lease expired is dispatched again with the same attempt; one claim wins", () => {
    const run = new Run(chain(2));
    run.start();
    expect(run.tick(T0 + DISPATCH_LEASE_MS - 1).applied).toBe(false);
    const expired = run.tick(T0 + DISPATCH_LEASE_MS);
    expect(dispatches(expired.effects)).toEqual([{ task: "t1", attempt: 1 }]);
    expect(run.state.tasks.t1).toMatchObject({ status: "dispatched", attempt: 1, deadline: T0 + 2 * DISPATCH_LEASE_MS });
    expect(notices(expired.effects)).toEqual([]);
    expect(run.claim("t1", 1).applied).toBe(true);
    expect(run.claim("t1", 1).applied).toBe(false);
    expect(script(run.notices())).toEqual(["t1:start"]);
  });

  it("a running task whose lease expired counts as a failed, timed-out attempt; its late report is ignored", () => {
    const run = new Run(chain(1, { timeoutMs: 20_000, limit: 1 }));
    run.start();
    run.claim("t1");
    const lease = T0 + 20_000 + LEASE_GRACE_MS;
    expect(run.state.tasks.t1!.deadline).toBe(lease);
    expect(run.tick(lease - 1).applied).toBe(false);
    const expired = run.tick(lease);
    expect(notices(expired.effects)).toEqual([
      expect.objectContaining({ event: "fail", attempt: 1, retrying: true, message: "attempt 1 timed out after 20 s" }),
    ]);
    expect(run.status("t1")).toBe("retrying");
    expect(run.complete("t1", 1).reason).toBe("task is retrying at attempt 1");

    run.tick(run.state.tasks.t1!.deadline!);
    run.claim("t1", 2);
    run.tick(run.now + 20_000 + LEASE_GRACE_MS);
    expect(run.state.outcome).toBe("failed");
    expect(run.state.failureMessage).toBe("attempt 2 timed out after 20 s");
    expect(run.complete("t1", 2).reason).toBe("job has ended");
  });

  it("one tick handles every due task at once", () => {
    const run = new Run(fanout(3));
    run.start();
    run.claim("t2");
    const expired = run.tick(T0 + DISPATCH_LEASE_MS);
    expect(dispatches(expired.effects)).toEqual([
      { task: "t1", attempt: 1 },
      { task: "t3", attempt: 1 },
    ]);
  });
});

describe("skipped tasks", () => {
  it("satisfy their dependents and send nothing", () => {
    const run = new Run([{ name: "a", skip: true }, { name: "b", needs: ["a"] }, { name: "c", skip: true, needs: ["b"] }]);
    const started = run.start();
    expect(dispatches(started.effects)).toEqual([{ task: "b", attempt: 1 }]);
    run.runToCompletion("b");
    expect(script(run.notices())).toEqual(["b:start", "b:complete", "job:completed"]);
    expect(run.state.tasks.a).toMatchObject({ status: "skipped", attempt: 0 });
  });
});

describe("pause and resume", () => {
  it("pause takes back dispatched tasks and starts nothing until resume", () => {
    const run = new Run([{ name: "a" }, { name: "b" }, { name: "c", needs: ["a"] }]);
    run.start();
    run.claim("a");
    const paused = run.send({ type: "pause" });
    expect(paused.applied).toBe(true);
    expect(run.state.paused).toBe(true);
    expect(run.state.tasks.b).toMatchObject({ status: "pending", attempt: 0, deadline: null });
    expect(run.status("a")).toBe("running");
    expect(run.send({ type: "pause" }).reason).toBe("job already paused");

    // The queue message for b arrives: it is now stale.
    expect(run.claim("b", 1).reason).toBe("task is pending at attempt 0");
    // The running task finishes, but its dependent does not start.
    const done = run.complete("a", 1, true);
    expect(done.effects.some((e) => e.type === "dispatch" || e.type === "handoff")).toBe(false);
    expect(run.status("c")).toBe("pending");
    expect(run.tick(T0 + 10 * DISPATCH_LEASE_MS).applied).toBe(false);
    expect(run.state.outcome).toBe("running");

    const resumed = run.send({ type: "resume" });
    expect(dispatches(resumed.effects)).toEqual([
      { task: "b", attempt: 1 },
      { task: "c", attempt: 1 },
    ]);
    expect(run.state.paused).toBe(false);
    expect(run.send({ type: "resume" }).reason).toBe("job is not paused");
    run.runToCompletion("b");
    run.runToCompletion("c");
    expect(run.state.outcome).toBe("completed");
  });

  it("a retry that comes due while paused waits for resume, then dispatches the next attempt", () => {
    const run = new Run(chain(1));
    run.start();
    run.claim("t1");
    run.fail("t1");
    run.send({ type: "pause" });
    const due = run.tick(run.state.tasks.t1!.deadline!);
    expect(dispatches(due.effects)).toEqual([]);
    expect(run.state.tasks.t1).toMatchObject({ status: "pending", attempt: 1, deadline: null });
    expect(dispatches(run.send({ type: "resume" }).effects)).toEqual([{ task: "t1", attempt: 2 }]);
  });

  it("a taken-back retry attempt is dispatched again under the same number on resume", () => {
    const run = new Run(chain(1));
    run.start();
    run.claim("t1");
    run.fail("t1");
    run.tick(run.state.tasks.t1!.deadline!);
    run.send({ type: "pause" });
    expect(run.state.tasks.t1).toMatchObject({ status: "pending", attempt: 1 });
    expect(dispatches(run.send({ type: "resume" }).effects)).toEqual([{ task: "t1", attempt: 2 }]);
    expect(run.claim("t1", 2).applied).toBe(true);
    expect(run.claim("t1", 2).applied).toBe(false);
  });
});

describe("cancel", () => {
  it("cancels every task that has not ended and fails the job with the message", () => {
    const run = new Run([{ name: "a" }, { name: "b", needs: ["a"] }, { name: "c" }, { name: "s", skip: true }]);
    run.start();
    run.claim("c");
    run.complete("c");
    run.claim("a");
    const cancelled = run.send({ type: "cancel", message: "job cancelled" }, T0 + 42);
    expect(run.state.order.map((name) => run.status(name))).toEqual(["cancelled", "cancelled", "completed", "skipped"]);
    expect(run.state.tasks.a).toMatchObject({ deadline: null, endedAt: T0 + 42, message: "job cancelled" });
    expect(notices(cancelled.effects)).toEqual([{ kind: "job", sequence: 4, status: "failed", message: "job cancelled", time: T0 + 42 }]);
    expect(endings(cancelled.effects)).toEqual(["failed"]);
    expect(run.state).toMatchObject({ outcome: "failed", endedAt: T0 + 42, failureMessage: "job cancelled" });
    expect(nextTaskDeadline(run.state)).toBeNull();
  });

  it("after the job ended every event is ignored and returns the same state", () => {
    const run = new Run(chain(1));
    run.start();
    run.claim("t1");
    run.complete("t1");
    const ended = run.state;
    const events: JobEvent[] = [
      { type: "start" },
      { type: "claim", task: "t1", attempt: 1 },
      { type: "complete", task: "t1", attempt: 1, output: null },
      { type: "fail", task: "t1", attempt: 1, error: "x", retryable: true },
      { type: "tick" },
      { type: "pause" },
      { type: "resume" },
      { type: "cancel", message: "too late" },
    ];
    for (const event of events) {
      const result = transition(ended, event, T0 + 1e9);
      expect(result).toEqual({ state: ended, effects: [], applied: false, reason: "job has ended" });
      expect(result.state).toBe(ended);
    }
  });
});

describe("purity", () => {
  it("never mutates its input state; every applied event bumps the version by one", () => {
    const state0 = initialJobState(plan([{ name: "a" }, { name: "b", needs: ["a"] }, { name: "c", needs: ["a"] }, { name: "d", limit: 1 }]));
    let state = deepFreeze(state0);
    let now = T0;
    const events: Array<[JobEvent, number]> = [
      [{ type: "start" }, 0],
      [{ type: "claim", task: "a", attempt: 1 }, 1],
      [{ type: "claim", task: "d", attempt: 1 }, 1],
      [{ type: "progress", task: "a", attempt: 1, progress: 40 }, 1],
      [{ type: "fail", task: "d", attempt: 1, error: "x", retryable: true }, 1],
      [{ type: "complete", task: "a", attempt: 1, output: { n: 1 }, takeNext: true }, 1],
      [{ type: "pause" }, 1],
      [{ type: "tick" }, 10_000],
      [{ type: "resume" }, 1],
      [{ type: "claim", task: "d", attempt: 2 }, 1],
      [{ type: "tick" }, 100_000],
      [{ type: "tick" }, 200_000],
      [{ type: "cancel", message: "stop" }, 1],
    ];
    const snapshot = JSON.stringify(state0);
    for (const [event, dt] of events) {
      now += dt;
      const result = transition(state, event, now);
      if (result.applied) {
        expect(result.state.version).toBe(state.version + 1);
        expect(result.state).not.toBe(state);
      } else {
        expect(result.state).toBe(state);
      }
      state = deepFreeze(result.state);
    }
    expect(JSON.stringify(state0)).toBe(snapshot);
    expect(state.outcome).toBe("failed");
  });

  it("tasks changed by a transition carry its version; untouched tasks keep theirs", () => {
    const run = new Run(fanout(2));
    run.start();
    run.claim("t1");
    expect(run.state.version).toBe(2);
    expect(run.state.tasks.t1!.version).toBe(2);
    expect(run.state.tasks.t2!.version).toBe(1);
  });

  it("logs are numbered from the state's next log number without gaps", () => {
    const run = new Run(chain(2));
    run.state = { ...run.state, nextLogSeq: 5 };
    run.start();
    run.runToCompletion("t1");
    run.runToCompletion("t2");
    const seqs = run.effects.flatMap((e) => (e.type === "log" ? [e.seq] : []));
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 5 + i));
    expect(run.state.nextLogSeq).toBe(5 + seqs.length);
  });
});

describe("jobProgress", () => {
  it("is the share of tasks in a final state", () => {
    const run = new Run(chain(3));
    run.start();
    expect(jobProgress(run.state)).toBe(0);
    run.runToCompletion("t1");
    expect(jobProgress(run.state)).toBe(33);
  });
});
