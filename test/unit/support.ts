/** Small builders for the unit tests: job plans, driving the reducer, picking effects apart. */
import type { Effect, JobEvent, Notice } from "../../src/domain/job-events";
import { initialJobState, type JobPlan, type TaskPlan } from "../../src/domain/job-graph";
import type { JobState } from "../../src/domain/job-state";
import { transition, type TransitionResult } from "../../src/domain/transition";

export interface TaskSketch {
  name: string;
  needs?: string[];
  skip?: boolean;
  limit?: number;
  delayMs?: number;
  backoff?: number;
  timeoutMs?: number;
  /** The worker pool that runs it (absent: the edge). */
  pool?: string;
}

export const DISPATCH_LEASE_MS = 30_000;
export const LEASE_GRACE_MS = 5_000;
export const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

/** A job plan from task sketches; defaults: no needs, not skipped, limit 3, delay 1 s, backoff 2, timeout 60 s. */
export function plan(tasks: TaskSketch[], jobId = "job_1"): JobPlan {
  return {
    jobId,
    client: "demo-client",
    workflow: "selftest",
    contentId: "demo1",
    createdAt: T0,
    dispatchLeaseMs: DISPATCH_LEASE_MS,
    leaseGraceMs: LEASE_GRACE_MS,
    tasks: tasks.map(
      (task): TaskPlan => ({
        name: task.name,
        id: `id_${task.name}`,
        executor: "selftest.wait",
        needs: task.needs ?? [],
        skip: task.skip ?? false,
        policy: { limit: task.limit ?? 3, delayMs: task.delayMs ?? 1_000, backoff: task.backoff ?? 2 },
        timeoutMs: task.timeoutMs ?? 60_000,
        pool: task.pool ?? null,
      }),
    ),
  };
}

/** `a → b → c …`: each task needs the one before it. */
export function chain(count: number, extra: Omit<TaskSketch, "name" | "needs"> = {}): TaskSketch[] {
  return Array.from({ length: count }, (_, i) => ({ ...extra, name: `t${i + 1}`, needs: i > 0 ? [`t${i}`] : [] }));
}

/** Independent tasks. */
export function fanout(count: number, extra: Omit<TaskSketch, "name" | "needs"> = {}): TaskSketch[] {
  return Array.from({ length: count }, (_, i) => ({ ...extra, name: `t${i + 1}` }));
}

/**
 * Drives the reducer through a list of events, each at its own time, and records everything it emitted.
 * `history` keeps every result so tests can look at ignored events too.
 */
export class Run {
  state: JobState;
  readonly effects: Effect[] = [];
  readonly history: TransitionResult[] = [];
  now = T0;

  constructor(tasks: TaskSketch[] | JobPlan) {
    this.state = initialJobState(Array.isArray(tasks) ? plan(tasks) : tasks);
  }

  /** Applies one event at the current time (or at `at`, which becomes the current time). */
  send(event: JobEvent, at?: number): TransitionResult {
    if (at !== undefined) this.now = at;
    const result = transition(this.state, event, this.now);
    this.history.push(result);
    this.state = result.state;
    this.effects.push(...result.effects);
    return result;
  }

  start(): TransitionResult {
    return this.send({ type: "start" });
  }
  claim(task: string, attempt = this.state.tasks[task]!.attempt): TransitionResult {
    return this.send({ type: "claim", task, attempt });
  }
  complete(task: string, attempt = this.state.tasks[task]!.attempt, takeNext = false): TransitionResult {
    return this.send({ type: "complete", task, attempt, output: { done: task }, takeNext });
  }
  fail(task: string, error = "boom", retryable = true, attempt = this.state.tasks[task]!.attempt): TransitionResult {
    return this.send({ type: "fail", task, attempt, error, retryable });
  }
  tick(at: number): TransitionResult {
    return this.send({ type: "tick" }, at);
  }
  /** Claims and completes a task that is dispatched. */
  runToCompletion(task: string): void {
    this.claim(task);
    this.complete(task);
  }

  status(task: string): string {
    return this.state.tasks[task]!.status;
  }
  notices(): Notice[] {
    return notices(this.effects);
  }
}

export function notices(effects: readonly Effect[]): Notice[] {
  return effects.flatMap((effect) => (effect.type === "notify" ? [effect.notice] : []));
}

export function dispatches(effects: readonly Effect[]): Array<{ task: string; attempt: number }> {
  return effects.flatMap((effect) => (effect.type === "dispatch" ? [{ task: effect.task, attempt: effect.attempt }] : []));
}

export function endings(effects: readonly Effect[]): Array<"completed" | "failed"> {
  return effects.flatMap((effect) => (effect.type === "ended" ? [effect.outcome] : []));
}

/** A compact view of notices: `task:event[:retrying]` or `job:status`. */
export function script(list: readonly Notice[]): string[] {
  return list.map((notice) =>
    notice.kind === "job"
      ? `job:${notice.status}`
      : `${notice.task}:${notice.event}${notice.retrying === undefined ? "" : notice.retrying ? ":retrying" : ":final"}`,
  );
}

/** Freezes an object graph so any mutation throws (the test files run in strict mode). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
