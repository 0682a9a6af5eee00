import type { Effect, JobEvent, Notice, Severity } from "./job-events";
import { DEFAULT_OFFER_LEASE_MS, DEFAULT_WORKER_LEASE_MS, PROGRESS_CALLBACK_MS, isTaskFinal, satisfiesNeeds, type JobState, type TaskState } from "./job-state";
import { decideRetry } from "./retry-policy";

export interface TransitionResult {
  state: JobState;
  effects: Effect[];
  /** False when the event changed nothing (duplicate, stale or late); `reason` says why. */
  applied: boolean;
  reason?: string;
}

/**
 * The job state machine: a pure function of the state, one event and the current time.
 * The coordinator persists the returned state before it performs the returned effects.
 */
export function transition(state: JobState, event: JobEvent, now: number): TransitionResult {
  if (event.type === "restart") return restart(state, now);
  if (state.outcome !== "running") return ignored(state, "job has ended");
  const draft = new Draft(state, now);
  const reason = apply(draft, event);
  if (reason !== null) return ignored(state, reason);
  draft.endJobIfDone();
  return draft.finish();
}

function ignored(state: JobState, reason: string): TransitionResult {
  return { state, effects: [], applied: false, reason };
}

/** Applies one event to the draft; returns why it was ignored, or null. */
function apply(draft: Draft, event: JobEvent): string | null {
  switch (event.type) {
    case "start":
      if (draft.admitted) return "job already started";
      draft.admitted = true;
      draft.dispatchReady(false);
      draft.touch();
      return null;
    case "restart":
      return "restart is handled before the draft";
    case "claim": {
      const task = draft.task(event.task);
      if (!task) return "unknown task";
      if (task.status !== "dispatched" || task.attempt !== event.attempt) return staleReason(task, event.attempt);
      if (task.pool !== undefined && event.lease === undefined) return `task runs on worker pool '${task.pool}'`;
      if (task.pool === undefined && event.lease !== undefined) return "task runs on the edge";
      draft.startAttempt(task, event.lease);
      return null;
    }
    case "heartbeat": {
      const task = draft.task(event.task);
      if (!task) return "unknown task";
      if (task.status !== "running" || task.attempt !== event.attempt) return staleReason(task, event.attempt);
      if (task.pool === undefined) return "task runs on the edge";
      const patch: Partial<TaskState> = { deadline: draft.leaseEnd(task) };
      if (event.progress !== undefined) patch.progress = Math.max(0, Math.min(100, Math.round(event.progress)));
      if (event.phase !== undefined) patch.phase = event.phase;
      const updated = draft.update(task.name, patch);
      if (updated.progress !== task.progress) draft.reportProgress(updated);
      return null;
    }
    case "complete": {
      const task = draft.task(event.task);
      if (!task) return "unknown task";
      if (task.status !== "running" || task.attempt !== event.attempt) return staleReason(task, event.attempt);
      draft.update(task.name, {
        status: "completed",
        endedAt: draft.now,
        deadline: null,
        output: event.output ?? null,
        message: "",
        progress: 100,
      });
      draft.notifyTask(task, "complete", "");
      draft.log(task.name, "info", `'${task.name}' completed successfully`);
      draft.dispatchReady(event.takeNext === true);
      return null;
    }
    case "fail": {
      const task = draft.task(event.task);
      if (!task) return "unknown task";
      if (task.status !== "running" || task.attempt !== event.attempt) return staleReason(task, event.attempt);
      draft.failAttempt(task, event.error, event.retryable);
      return null;
    }
    case "progress": {
      const task = draft.task(event.task);
      if (!task) return "unknown task";
      if (task.status !== "running" || task.attempt !== event.attempt) return staleReason(task, event.attempt);
      const progress = Math.max(0, Math.min(100, Math.round(event.progress)));
      if (progress === task.progress) return "progress unchanged";
      draft.reportProgress(draft.update(task.name, { progress }));
      return null;
    }
    case "tick":
      return draft.handleDeadlines() ? null : "nothing due";
    case "pause":
      if (draft.paused) return "job already paused";
      draft.pause();
      return null;
    case "resume":
      if (!draft.paused) return "job is not paused";
      draft.paused = false;
      draft.log(null, "info", "job resumed");
      draft.dispatchReady(false);
      return null;
    case "cancel":
      draft.cancel(event.message);
      return null;
  }
}

/** Retry in place: only an ended, failed job; completed and skipped tasks keep their results. */
function restart(state: JobState, now: number): TransitionResult {
  if (state.outcome !== "failed") return ignored(state, state.outcome === "running" ? "job is still running" : "job completed");
  const draft = new Draft({ ...state, outcome: "running", failureMessage: "", endedAt: null, admitted: false, paused: false }, now);
  for (const name of state.order) {
    const task = draft.tasks[name]!;
    if (task.status !== "failed" && task.status !== "cancelled") continue;
    draft.update(name, { status: "pending", attemptBase: task.attempt, deadline: null, endedAt: null, message: "", progress: 0 });
  }
  draft.log(null, "info", "job retried in place: failed and cancelled tasks will run again");
  return draft.finish();
}

/** Why the watchdog ends a running attempt: its timeout passed, or (remote) its lease ended without a heartbeat. */
function lostAttemptMessage(task: TaskState, now: number): string {
  const timeout = `attempt ${task.attempt} timed out after ${Math.round(task.timeoutMs / 1000)} s`;
  if (task.pool === undefined || task.attemptStartedAt === undefined || now >= task.attemptStartedAt + task.timeoutMs) return timeout;
  return `attempt ${task.attempt} lost: its worker's lease ended without a heartbeat`;
}

function staleReason(task: TaskState, attempt: number): string {
  if (attempt < task.attempt) return `stale attempt ${attempt} (current ${task.attempt})`;
  return `task is ${task.status} at attempt ${task.attempt}`;
}

/** A copy-on-write working state for one transition. */
class Draft {
  readonly tasks: Record<string, TaskState>;
  readonly effects: Effect[] = [];
  readonly version: number;
  paused: boolean;
  admitted: boolean;
  private nextSequence: number;
  private nextLogSeq: number;
  private outcome: JobState["outcome"];
  private failureMessage: string;
  private endedAt: number | null;
  private changed = false;

  constructor(
    readonly base: JobState,
    readonly now: number,
  ) {
    this.tasks = { ...base.tasks };
    this.version = base.version + 1;
    this.paused = base.paused;
    this.admitted = base.admitted;
    this.nextSequence = base.nextSequence;
    this.nextLogSeq = base.nextLogSeq;
    this.outcome = base.outcome;
    this.failureMessage = base.failureMessage;
    this.endedAt = base.endedAt;
  }

  task(name: string): TaskState | undefined {
    return Object.hasOwn(this.tasks, name) ? this.tasks[name] : undefined;
  }

  touch(): void {
    this.changed = true;
  }

  update(name: string, patch: Partial<TaskState>): TaskState {
    const next = { ...this.tasks[name]!, ...patch, version: this.version };
    this.tasks[name] = next;
    this.changed = true;
    return next;
  }

  /** A `progress` callback, when an endpoint asked for them and the task's last one is 5 s old. */
  reportProgress(task: TaskState): void {
    if (!this.base.progressCallbacks) return;
    if (task.progressNotifiedAt !== undefined && this.now - task.progressNotifiedAt < PROGRESS_CALLBACK_MS) return;
    const noted = this.update(task.name, { progressNotifiedAt: this.now });
    this.notifyTask(noted, "progress", task.phase ?? "", undefined, task.progress);
  }

  notifyTask(task: TaskState, event: "start" | "complete" | "fail" | "progress", message: string, retrying?: boolean, progress?: number): void {
    const notice: Notice = {
      kind: "task",
      sequence: this.nextSequence++,
      event,
      task: task.name,
      taskId: task.id,
      attempt: task.attempt,
      message,
      time: this.now,
    };
    if (retrying !== undefined) notice.retrying = retrying;
    if (progress !== undefined && notice.kind === "task") notice.progress = progress;
    this.effects.push({ type: "notify", notice });
    this.changed = true;
  }

  log(task: string | null, severity: Severity, message: string): void {
    this.effects.push({ type: "log", seq: this.nextLogSeq++, task, severity, message, time: this.now });
    this.changed = true;
  }

  /** Sends every pending task whose needs are met; with `takeNext` the first one is handed to the reporter. */
  dispatchReady(takeNext: boolean): void {
    if (this.paused || !this.admitted) return;
    let handedOff = !takeNext;
    for (const name of this.base.order) {
      const task = this.tasks[name]!;
      if (task.status !== "pending" || !task.needs.every((need) => this.needMet(need))) continue;
      const attempt = task.attempt + 1;
      // A reporter can run an edge task itself; a remote one is offered to its pool.
      if (!handedOff && task.pool === undefined) {
        handedOff = true;
        const claimed = this.update(name, { status: "dispatched", attempt });
        this.startAttempt(claimed);
        this.effects.push({ type: "handoff", task: name, attempt });
      } else {
        this.dispatch(task, attempt);
      }
    }
  }

  /** Sends an attempt out: to the tasks queue, or offered to the task's worker pool (which waits longer for a taker). */
  dispatch(task: TaskState, attempt: number): void {
    const lease = task.pool === undefined ? this.base.dispatchLeaseMs : (this.base.offerLeaseMs ?? DEFAULT_OFFER_LEASE_MS);
    this.update(task.name, { status: "dispatched", attempt, deadline: this.now + lease });
    this.effects.push({ type: "dispatch", task: task.name, attempt });
  }

  /**
   * When a remote attempt's lease ends if no heartbeat comes: a lease time from now, never past the
   * attempt's timeout (a hard cap, whatever the heartbeats).
   */
  leaseEnd(task: TaskState): number {
    const cap = (task.attemptStartedAt ?? this.now) + task.timeoutMs;
    return Math.min(this.now + (this.base.workerLeaseMs ?? DEFAULT_WORKER_LEASE_MS), cap);
  }

  /** Starts an attempt: an edge one under its timeout (plus grace), a remote one under its lease `lease`. */
  startAttempt(task: TaskState, lease?: string): void {
    const remote = lease === undefined ? {} : { lease, attemptStartedAt: this.now, phase: "" };
    const started = { ...task, ...remote };
    const running = this.update(task.name, {
      ...remote,
      status: "running",
      startedAt: task.startedAt ?? this.now,
      deadline: lease === undefined ? this.now + task.timeoutMs + this.base.leaseGraceMs : this.leaseEnd(started),
      progress: 0,
    });
    this.notifyTask(running, "start", "");
    const suffix = running.attempt > 1 ? ` (attempt ${running.attempt})` : "";
    this.log(task.name, "info", `Task '${task.name}' started${suffix}`);
  }

  failAttempt(task: TaskState, error: string, retryable: boolean): void {
    const decision = decideRetry(task.policy, task.attempt - task.attemptBase, retryable, `${this.base.jobId}/${task.name}/${task.attempt}`);
    if (decision.type === "retry") {
      const retrying = this.update(task.name, { status: "retrying", deadline: this.now + decision.delayMs, message: error });
      this.notifyTask(retrying, "fail", error, true);
      const seconds = (decision.delayMs / 1000).toFixed(1);
      this.log(task.name, "warn", `'${task.name}' failed: ${error} (attempt ${task.attempt}, retrying in ${seconds} s)`);
      return;
    }
    const failed = this.update(task.name, { status: "failed", deadline: null, endedAt: this.now, message: error });
    this.notifyTask(failed, "fail", error, false);
    this.log(task.name, "error", `'${task.name}' failed: ${error} (attempt ${task.attempt}, no retry left)`);
    if (this.failureMessage === "") this.failureMessage = error;
    this.cancelDependents(task.name);
  }

  /** Cancels every pending task that needs `failedTask`, directly or through others. */
  /**
   * Whether a needed task lets its dependents start: completed, or skipped with its own needs met (a skipped
   * task stands in for its needs, so `a → [b] → c` still waits for `a`).
   */
  private needMet(name: string): boolean {
    const task = this.tasks[name]!;
    return satisfiesNeeds(task.status) && (task.status !== "skipped" || task.needs.every((need) => this.needMet(need)));
  }

  private cancelDependents(failedTask: string): void {
    const blocked = new Set([failedTask]);
    // Definition order need not follow the graph, so sweep until no further task is blocked. Blocking
    // passes through skipped tasks, which stand in for their needs.
    for (let found = true; found; ) {
      found = false;
      for (const name of this.base.order) {
        const task = this.tasks[name]!;
        if (blocked.has(name) || !task.needs.some((need) => blocked.has(need))) continue;
        if (task.status === "skipped") {
          blocked.add(name);
          found = true;
          continue;
        }
        if (task.status !== "pending") continue;
        blocked.add(name);
        found = true;
        this.update(name, { status: "cancelled", endedAt: this.now, message: `cancelled: '${failedTask}' failed` });
        this.log(name, "info", `'${name}' cancelled because '${failedTask}' failed`);
      }
    }
  }

  /** Handles leases and retry timers that have come due; returns whether anything was. */
  handleDeadlines(): boolean {
    let any = false;
    for (const name of this.base.order) {
      const task = this.tasks[name]!;
      if (task.deadline === null || task.deadline > this.now) continue;
      any = true;
      switch (task.status) {
        case "dispatched":
          // The queue message (or the pool's offer) was lost or is late: send the same attempt again; one claim wins.
          this.dispatch(task, task.attempt);
          if (task.pool === undefined) this.log(name, "warn", `'${name}' was not claimed in time; dispatching attempt ${task.attempt} again`);
          break;
        case "running":
          this.failAttempt(task, lostAttemptMessage(task, this.now), true);
          break;
        case "retrying":
          if (this.paused) {
            this.update(name, { status: "pending", deadline: null });
          } else {
            this.dispatch(task, task.attempt + 1);
          }
          break;
        default:
          this.update(name, { deadline: null });
      }
    }
    return any;
  }

  pause(): void {
    this.paused = true;
    for (const name of this.base.order) {
      const task = this.tasks[name]!;
      // Not yet claimed: take it back, so its queue message becomes a stale claim.
      if (task.status === "dispatched") this.update(name, { status: "pending", attempt: task.attempt - 1, deadline: null });
    }
    this.log(null, "info", "job paused: running tasks finish, no new task starts");
  }

  cancel(message: string): void {
    for (const name of this.base.order) {
      const task = this.tasks[name]!;
      if (isTaskFinal(task.status)) continue;
      this.update(name, { status: "cancelled", deadline: null, endedAt: this.now, message });
    }
    this.failureMessage = message;
    this.log(null, "warn", `job cancelled: ${message}`);
  }

  endJobIfDone(): void {
    if (this.outcome !== "running") return;
    if (!this.base.order.every((name) => isTaskFinal(this.tasks[name]!.status))) return;
    const failed = this.base.order.some((name) => {
      const status = this.tasks[name]!.status;
      return status === "failed" || status === "cancelled";
    });
    this.outcome = failed ? "failed" : "completed";
    this.endedAt = this.now;
    this.changed = true;
    this.effects.push({
      type: "notify",
      notice: {
        kind: "job",
        sequence: this.nextSequence++,
        status: this.outcome,
        message: failed ? this.failureMessage : "",
        time: this.now,
      },
    });
    this.log(null, failed ? "error" : "info", failed ? `job failed: ${this.failureMessage}` : "job has completed successfully");
    this.effects.push({ type: "ended", outcome: this.outcome });
  }

  finish(): TransitionResult {
    if (!this.changed) return ignored(this.base, "nothing changed");
    const state: JobState = {
      ...this.base,
      tasks: this.tasks,
      paused: this.paused,
      admitted: this.admitted,
      outcome: this.outcome,
      failureMessage: this.failureMessage,
      nextSequence: this.nextSequence,
      nextLogSeq: this.nextLogSeq,
      endedAt: this.endedAt,
      version: this.version,
    };
    return { state, effects: this.effects, applied: true };
  }
}
