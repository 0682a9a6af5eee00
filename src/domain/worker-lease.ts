import type { JobState, TaskState } from "./job-state";

/**
 * Where a remote worker's lease stands (workers.md). A lease names one attempt of one task and carries a
 * token whose digest the task keeps while that attempt is its current one:
 * - `current`: the attempt is running under this lease: heartbeats extend it, a report is applied;
 * - `ended`: the attempt was completed, failed, timed out, taken back or cancelled (a later attempt may run):
 *   heartbeats answer `cancel`, reports are refused (409) unless they repeat the report that ended it;
 * - `unknown`: no such task, attempt or token (404).
 * `tokenMatches` says whether the presented token's digest equals the task's (compared by the caller, in
 * constant time). A lease of an attempt older than the current one cannot be checked (only the current
 * digest is kept) and can do nothing but hear `cancel`.
 */
export type LeaseStanding = { kind: "current"; task: TaskState } | { kind: "ended"; task: TaskState; sameAttempt: boolean } | { kind: "unknown" };

export function leaseStanding(state: JobState, taskName: string, attempt: number, tokenMatches: (digest: string) => boolean): LeaseStanding {
  const task = Object.hasOwn(state.tasks, taskName) ? state.tasks[taskName]! : undefined;
  if (!task || task.pool === undefined || task.lease === undefined || attempt < 1 || attempt > task.attempt) return { kind: "unknown" };
  if (attempt < task.attempt) return { kind: "ended", task, sameAttempt: false };
  if (!tokenMatches(task.lease)) return { kind: "unknown" };
  if (task.status === "running" && state.outcome === "running") return { kind: "current", task };
  return { kind: "ended", task, sameAttempt: true };
}

/** A repeated report of the lease's own attempt, once applied, answers as the first did (idempotent calls). */
export function repeatsEndingReport(task: TaskState, report: { type: "complete" } | { type: "fail"; error: string }): boolean {
  if (report.type === "complete") return task.status === "completed";
  return (task.status === "retrying" || task.status === "failed") && task.message === report.error;
}

/** Why a call on a lease whose attempt has ended is refused (409). */
export function endedMessage(task: TaskState, attempt: number): string {
  return `This lease's attempt has ended: task '${task.name}' is ${task.status} at attempt ${task.attempt} (the lease was for attempt ${attempt}).`;
}
