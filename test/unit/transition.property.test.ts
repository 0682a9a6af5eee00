/**
 * The reducer under an at-least-once transport: fast-check builds random task graphs and then decides, step by
 * step, which in-flight message is delivered next, whether it is duplicated, lost or replayed late, when time
 * advances and the watchdog ticks, and what each attempt reports. Whatever it picks, every task must end exactly
 * once, the job must end exactly once, and the callback sequence must have no gap.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Effect, JobEvent, Notice } from "../../src/domain/job-events";
import { initialJobState, nextTaskDeadline, type JobPlan } from "../../src/domain/job-graph";
import type { JobState } from "../../src/domain/job-state";
import { transition } from "../../src/domain/transition";
import { deepFreeze, plan, T0, type TaskSketch } from "./support";

type Message =
  | { kind: "claim"; task: string; attempt: number }
  | { kind: "complete"; task: string; attempt: number; takeNext: boolean }
  | { kind: "fail"; task: string; attempt: number; retryable: boolean };

type TaskNotice = Extract<Notice, { kind: "task" }>;

const TIME_STEPS = [100, 1_000, 2_500, 4_000, 15_000];

/** A random graph: chain, fan-out or DAG of 1-12 tasks, listed in a random (not necessarily topological) order. */
const graphs = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc
    .record({
      shape: fc.constantFrom("chain", "fanout", "dag"),
      needs: fc.array(fc.uniqueArray(fc.nat({ max: 11 }), { maxLength: 3 }), { minLength: n, maxLength: n }),
      limits: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
      delays: fc.array(fc.constantFrom(0, 500, 2_000), { minLength: n, maxLength: n }),
      skips: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }),
      order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    })
    .map(({ shape, needs, limits, delays, skips, order }): TaskSketch[] => {
      const sketches = Array.from({ length: n }, (_, i): TaskSketch => {
        const before =
          shape === "chain" ? (i > 0 ? [i - 1] : []) : shape === "fanout" ? [] : needs[i]!.filter((j) => j < i);
        return {
          name: `t${i + 1}`,
          needs: before.map((j) => `t${j + 1}`),
          limit: limits[i]!,
          delayMs: delays[i]!,
          backoff: 2,
          skip: skips[i] === 0,
          timeoutMs: 2_000,
        };
      });
      return order.map((i) => sketches[i]!);
    }),
);

function jobPlan(tasks: TaskSketch[]): JobPlan {
  return { ...plan(tasks), dispatchLeaseMs: 3_000, leaseGraceMs: 1_000 };
}

function toEvent(message: Message): JobEvent {
  switch (message.kind) {
    case "claim":
      return { type: "claim", task: message.task, attempt: message.attempt };
    case "complete":
      return { type: "complete", task: message.task, attempt: message.attempt, output: { from: message.attempt }, takeNext: message.takeNext };
    case "fail":
      return {
        type: "fail",
        task: message.task,
        attempt: message.attempt,
        error: `${message.task} attempt ${message.attempt} ${message.retryable ? "flaked" : "is hopeless"}`,
        retryable: message.retryable,
      };
  }
}

/**
 * Every non-skipped task that needs `name`, directly or through others. A skipped task stands in for its
 * own needs, so blocking passes through it (it is not itself cancelled).
 */
function dependentsOf(state: JobState, name: string): Set<string> {
  const blocked = new Set<string>([name]);
  const found = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const other of state.order) {
      if (blocked.has(other)) continue;
      if (state.tasks[other]!.needs.some((need) => blocked.has(need))) {
        blocked.add(other);
        if (state.tasks[other]!.status !== "skipped") found.add(other);
        grew = true;
      }
    }
  }
  return found;
}

/** Runs one job to its end under the transport `choices` describe, checking invariants at every step. */
function simulate(tasks: TaskSketch[], choices: number[]): void {
  let cursor = 0;
  const exhausted = (): boolean => cursor >= choices.length;
  /** The next choice in [0, n); once the script is used up, always 0 (the "make progress" choice). */
  const pick = (n: number): number => (cursor < choices.length ? choices[cursor++]! % n : 0);

  let state: JobState = deepFreeze(initialJobState(jobPlan(tasks)));
  let now = T0;
  const limitOf = (task: string): number => state.tasks[task]!.policy.limit;

  const pool: Message[] = [];
  const delivered: Message[] = [];
  const accepted = new Map<string, number>();
  const taskNotices = new Map<string, TaskNotice[]>();
  const jobNotices: Notice[] = [];
  const ended: Effect[] = [];
  let nextSequence = 1;
  let cancelMessage: string | null = null;

  /** A worker holds attempt `attempt` of `task`: it reports success, a failure, or dies silently. */
  const runAttempt = (task: string, attempt: number): void => {
    const key = `${task}#${attempt}`;
    accepted.set(key, (accepted.get(key) ?? 0) + 1);
    expect(accepted.get(key), `attempt ${key} accepted twice`).toBe(1);
    const outcome = pick(10);
    if (outcome <= 5) pool.push({ kind: "complete", task, attempt, takeNext: pick(2) === 1 });
    else if (outcome <= 7) pool.push({ kind: "fail", task, attempt, retryable: true });
    else if (outcome === 8) pool.push({ kind: "fail", task, attempt, retryable: false });
    // 9: the worker vanished; only the lease brings the task back.
  };

  const step = (event: JobEvent): boolean => {
    const before = state;
    const result = transition(before, event, now);
    if (!result.applied) {
      expect(result.state).toBe(before);
      expect(result.effects).toEqual([]);
      expect(result.reason).toBeTruthy();
      return false;
    }
    expect(result.state.version).toBe(before.version + 1);
    expect(ended, "an event was applied after the job ended").toEqual([]);
    state = deepFreeze(result.state);
    for (const effect of result.effects) {
      switch (effect.type) {
        case "dispatch":
          expect(effect.attempt).toBeLessThanOrEqual(limitOf(effect.task) + 1);
          pool.push({ kind: "claim", task: effect.task, attempt: effect.attempt });
          break;
        case "handoff":
          expect(event.type === "complete" && event.takeNext).toBe(true);
          runAttempt(effect.task, effect.attempt);
          break;
        case "notify": {
          const notice = effect.notice;
          expect(notice.sequence, "callback sequence has a gap or repeat").toBe(nextSequence++);
          expect(notice.time).toBe(now);
          if (notice.kind === "job") jobNotices.push(notice);
          else {
            const list = taskNotices.get(notice.task) ?? [];
            list.push(notice);
            taskNotices.set(notice.task, list);
            if (notice.event === "fail") {
              const retryable = event.type === "fail" ? event.retryable : true;
              expect(notice.retrying).toBe(retryable && notice.attempt <= limitOf(notice.task));
            }
          }
          break;
        }
        case "ended":
          ended.push(effect);
          break;
        case "log":
          break;
      }
    }
    if (event.type === "claim") runAttempt(event.task, event.attempt);
    if (event.type === "cancel") cancelMessage = event.message;
    for (const name of state.order) {
      const task = state.tasks[name]!;
      expect(task.attempt).toBeLessThanOrEqual(task.policy.limit + 1);
      if (task.status === "running") expect(accepted.get(`${name}#${task.attempt}`)).toBe(1);
    }
    return true;
  };

  const deliver = (index: number, keepCopy: boolean): void => {
    const message = pool[index]!;
    if (!keepCopy) pool.splice(index, 1);
    delivered.push(message);
    step(toEvent(message));
  };

  const tickAt = (time: number): void => {
    now = Math.max(now, time);
    step({ type: "tick" });
  };

  step({ type: "start" });
  let steps = 0;
  for (; state.outcome === "running" && steps < 5_000; steps++) {
    if (exhausted()) {
      // The transport settles down: every message arrives once, in order, and time moves to the next deadline.
      if (state.paused) step({ type: "resume" });
      else if (pool.length > 0) deliver(0, false);
      else {
        const due = nextTaskDeadline(state);
        expect(due, "job is stuck: running, nothing in flight and nothing due").not.toBeNull();
        tickAt(due!);
      }
      continue;
    }
    const action = pick(20);
    if (action < 10 && pool.length > 0) deliver(pick(pool.length), false);
    else if (action < 12 && pool.length > 0) deliver(pick(pool.length), true);
    else if (action < 14 && delivered.length > 0) step(toEvent(delivered[pick(delivered.length)]!));
    else if (action < 17) tickAt(now + TIME_STEPS[pick(TIME_STEPS.length)]!);
    else if (action === 17 && pool.length > 0) pool.splice(pick(pool.length), 1);
    else if (action === 18) step({ type: state.paused ? "resume" : "pause" });
    else if (action === 19 && pick(8) === 0) step({ type: "cancel", message: "job cancelled" });
    else tickAt(now);
  }
  expect(state.outcome, `job did not end in ${steps} steps`).not.toBe("running");

  // Quiescent: whatever arrives now changes nothing.
  const endState = state;
  for (const message of [...delivered, ...pool]) step(toEvent(message));
  step({ type: "tick" });
  step({ type: "cancel", message: "again" });
  expect(state).toBe(endState);

  // The job ended once, with one callback, which is the last one.
  expect(jobNotices).toHaveLength(1);
  expect(ended).toEqual([{ type: "ended", outcome: state.outcome }]);
  const jobNotice = jobNotices[0]!;
  expect(jobNotice).toMatchObject({ kind: "job", status: state.outcome, sequence: nextSequence - 1 });

  const statuses = state.order.map((name) => state.tasks[name]!.status);
  expect(state.outcome === "completed").toBe(statuses.every((s) => s === "completed" || s === "skipped"));

  const finalFails: TaskNotice[] = [];
  for (const name of state.order) {
    const task = state.tasks[name]!;
    const list = taskNotices.get(name) ?? [];
    expect(["completed", "failed", "skipped", "cancelled"]).toContain(task.status);
    // Per attempt: start, then fail(retrying) and the next attempt, or one final report, or nothing (cancelled).
    let attempt = 1;
    for (let i = 0; i < list.length; ) {
      expect(list[i]).toMatchObject({ event: "start", attempt });
      const next = list[i + 1];
      if (!next) {
        expect(task.status).toBe("cancelled");
        break;
      }
      expect(next.attempt).toBe(attempt);
      if (next.event === "fail" && next.retrying === true) {
        attempt++;
        i += 2;
        continue;
      }
      expect(i + 2, `${name} sent callbacks after its final one`).toBe(list.length);
      break;
    }
    const finals = list.filter((n) => n.event === "complete" || (n.event === "fail" && n.retrying === false));
    if (task.status === "completed") expect(finals.map((n) => n.event)).toEqual(["complete"]);
    else if (task.status === "failed") {
      expect(finals.map((n) => n.event)).toEqual(["fail"]);
      finalFails.push(finals[0]!);
    } else expect(finals).toEqual([]);
    if (task.status === "skipped") expect(list).toEqual([]);
    expect(list.filter((n) => n.event === "start")).toHaveLength(
      [...accepted.keys()].filter((key) => key.startsWith(`${name}#`)).length,
    );
  }

  // A failure cancels everything downstream of it; a task is cancelled only because of a failure or a cancel.
  const downstreamOfFailure = new Set<string>();
  for (const name of state.order) {
    if (state.tasks[name]!.status !== "failed") continue;
    for (const dependent of dependentsOf(state, name)) {
      expect(state.tasks[dependent]!.status, `${dependent} is downstream of failed ${name}`).toBe("cancelled");
      downstreamOfFailure.add(dependent);
    }
  }
  if (cancelMessage === null) {
    for (const name of state.order) {
      if (state.tasks[name]!.status === "cancelled") expect(downstreamOfFailure.has(name)).toBe(true);
    }
  }

  if (state.outcome === "failed") {
    const expected = cancelMessage ?? finalFails.sort((a, b) => a.sequence - b.sequence)[0]!.message;
    expect(jobNotice.message).toBe(expected);
  } else expect(jobNotice.message).toBe("");
}

describe("transition under an at-least-once transport", () => {
  it("ends every task and the job exactly once, whatever the delivery order", () => {
    fc.assert(
      fc.property(graphs, fc.array(fc.nat({ max: 9_999 }), { maxLength: 600, size: "max" }), (tasks, choices) => {
        simulate(tasks, choices);
      }),
      { numRuns: 250 },
    );
  });

  it("with a perfect transport and no failures, every non-skipped task completes", () => {
    fc.assert(
      fc.property(graphs, (tasks) => {
        let state = initialJobState(jobPlan(tasks));
        const queue: JobEvent[] = [{ type: "start" }];
        let now = T0;
        while (queue.length > 0) {
          const event = queue.shift()!;
          const result = transition(state, event, ++now);
          expect(result.applied).toBe(true);
          state = result.state;
          for (const effect of result.effects) {
            if (effect.type === "dispatch") {
              queue.push({ type: "claim", task: effect.task, attempt: effect.attempt });
              queue.push({ type: "complete", task: effect.task, attempt: effect.attempt, output: null });
            }
          }
        }
        expect(state.outcome).toBe("completed");
        for (const name of state.order) {
          expect(state.tasks[name]!.status).toBe(tasks.find((t) => t.name === name)!.skip ? "skipped" : "completed");
        }
      }),
      { numRuns: 100 },
    );
  });
});
