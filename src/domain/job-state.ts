/** The state of one job as its JobCoordinator holds it. Pure data: no platform types. */

export const TASK_STATUSES = [
  "pending",
  "dispatched",
  "running",
  "retrying",
  "completed",
  "failed",
  "skipped",
  "cancelled",
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A task in one of these states will never change again. */
export function isTaskFinal(status: TaskStatus): boolean {
  switch (status) {
    case "completed":
    case "failed":
    case "skipped":
    case "cancelled":
      return true;
    case "pending":
    case "dispatched":
    case "running":
    case "retrying":
      return false;
    default:
      return assertNever(status);
  }
}

/** Dependents of a task in one of these states may start. */
export function satisfiesNeeds(status: TaskStatus): boolean {
  return status === "completed" || status === "skipped";
}

export type JobOutcome = "running" | "completed" | "failed";

export interface RetryPolicy {
  /** Retries after the first attempt; 3 means at most 4 attempts. */
  limit: number;
  /** Delay before the first retry, in ms. */
  delayMs: number;
  /** Multiplier applied to the delay for each further retry. */
  backoff: number;
}

export interface TaskState {
  name: string;
  id: string;
  executor: string;
  needs: string[];
  status: TaskStatus;
  /** Number of the current (or last) attempt; 0 before the first dispatch. Never decreases across retries in place. */
  attempt: number;
  /** Attempts made before the job was last retried in place; the retry policy counts from here. */
  attemptBase: number;
  policy: RetryPolicy;
  timeoutMs: number;
  /**
   * When the watchdog must look at this task again: the lease end while `dispatched` or `running`,
   * the retry time while `retrying`, otherwise null.
   */
  deadline: number | null;
  startedAt: number | null;
  endedAt: number | null;
  message: string;
  output: unknown;
  progress: number;
  /** The worker pool that runs this task (workers.md); absent: the edge (the tasks queue consumer). */
  pool?: string;
  /** Digest of the current (or last) remote attempt's lease token: its heartbeats and reports present it. */
  lease?: string;
  /** When the current attempt started: a remote attempt's timeout is a hard cap whatever its heartbeats. */
  attemptStartedAt?: number;
  /** The phase the last heartbeat of a remote attempt reported (e.g. `encoding`). */
  phase?: string;
  /** When the last `progress` callback of this task was made. */
  progressNotifiedAt?: number;
  /** The job version at which this task last changed; the adapter persists tasks changed in a transition. */
  version: number;
}

export interface JobState {
  jobId: string;
  client: string;
  workflow: string;
  contentId: string | null;
  outcome: JobOutcome;
  /** Admission control let the job start (its ready tasks may be dispatched). */
  admitted: boolean;
  /** Set when the client paused the job: running tasks finish, no new task starts. */
  paused: boolean;
  /** Error message of the job when it failed or was cancelled. */
  failureMessage: string;
  /** Task names in definition order. */
  order: string[];
  tasks: Record<string, TaskState>;
  /** Next callback sequence number (per job, from 1, no gaps). */
  nextSequence: number;
  /** Next job-log line number, for idempotent log projection. */
  nextLogSeq: number;
  /** Incremented by every applied transition. */
  version: number;
  /** How long a dispatched task may wait to be claimed before it is dispatched again. */
  dispatchLeaseMs: number;
  /** Extra time past a task's timeout before the watchdog declares the attempt lost. */
  leaseGraceMs: number;
  /** A remote attempt's lease: it ends this long after the claim or the last heartbeat (absent: 60 s). */
  workerLeaseMs?: number;
  /** How long a task offered to a worker pool waits there before it is offered again (absent: 5 min). */
  offerLeaseMs?: number;
  /** An endpoint of the job asked for `task.progress` callbacks. */
  progressCallbacks?: boolean;
  createdAt: number;
  endedAt: number | null;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}

export const DEFAULT_WORKER_LEASE_MS = 60_000;
export const DEFAULT_OFFER_LEASE_MS = 5 * 60_000;
/** `task.progress` callbacks of one task are at least this far apart. */
export const PROGRESS_CALLBACK_MS = 5_000;

/**
 * Job progress 0-100, each task weighing the same: a task in a final state counts 100, a running one the
 * progress its attempt reported (remote workers' heartbeats, an executor's reports), any other 0.
 */
export function jobProgress(state: JobState): number {
  if (state.order.length === 0) return 100;
  let sum = 0;
  for (const name of state.order) {
    const task = state.tasks[name]!;
    sum += isTaskFinal(task.status) ? 100 : task.status === "running" ? task.progress : 0;
  }
  return Math.floor(sum / state.order.length);
}
