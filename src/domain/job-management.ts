import type { JobEvent } from "./job-events";

/**
 * What the client can change about a job (PATCH /jobs/{id}) and how admission control sees it. Pure:
 * the coordinator persists the new meta and applies the returned reducer events.
 */

export type QueueState = "scheduled" | "queued" | "started" | "paused" | "completed" | "broken";

/** The reference system's numeric queue states (GET /jobs?state=…). */
export const QUEUE_STATE_NUMBERS = ["queued", "started", "completed", "pending", "broken", "scheduled", "paused"] as const;

export function isEnded(state: QueueState): boolean {
  return state === "completed" || state === "broken";
}

export interface JobMeta {
  queueState: QueueState;
  priority: number;
  runAt: number | null;
  semaphoreUrl: string | null;
  persist: boolean;
  /** Bumped each time the job (re-)enters the admission queue; admission answers for older rounds are stale. */
  generation: number;
  startedAt: number | null;
  /** Admission control has not yet acknowledged the latest change. */
  syncPending: boolean;
  /** The job that a rerun of this one created: every later rerun of this job answers with it. */
  replacedBy?: string;
}

export interface JobChange {
  queueState?: "paused" | "queued" | "broken";
  priority?: number;
  /** ms; null clears it. */
  runAt?: number | null;
  semaphoreUrl?: string | null;
  persist?: boolean;
}

export type ChangePlan =
  | { ok: true; meta: JobMeta; events: JobEvent[]; performed: string[] }
  | { ok: false; conflict: string };

/** A job waiting for admission is `scheduled` until its run_at passes and its semaphore opens, then `queued`. */
export function waitingState(runAt: number | null, semaphoreUrl: string | null, now: number): "scheduled" | "queued" {
  return (runAt !== null && runAt > now) || semaphoreUrl !== null ? "scheduled" : "queued";
}

function isWaiting(state: QueueState): boolean {
  return state === "scheduled" || state === "queued";
}

/**
 * Plans a change as a whole: either every part is allowed in the job's state, or none is applied.
 * `admitted` tells whether the job ever started (run_at and semaphore_url only matter before that).
 */
export function planChange(meta: JobMeta, admitted: boolean, change: JobChange, now: number): ChangePlan {
  const next: JobMeta = { ...meta };
  const events: JobEvent[] = [];
  const performed: string[] = [];
  const ended = isEnded(meta.queueState);
  const onlyPersist = Object.keys(change).every((key) => key === "persist" || change[key as keyof JobChange] === undefined);
  if (ended && !onlyPersist) return { ok: false, conflict: `The job has ended (${meta.queueState}); only persist can change.` };

  if (change.priority !== undefined) {
    next.priority = change.priority;
    performed.push("priority");
  }
  if (change.runAt !== undefined || change.semaphoreUrl !== undefined) {
    if (admitted) return { ok: false, conflict: "run_at and semaphore_url can only change before the job starts." };
    if (change.runAt !== undefined) {
      next.runAt = change.runAt;
      performed.push("run_at");
    }
    if (change.semaphoreUrl !== undefined) {
      next.semaphoreUrl = change.semaphoreUrl;
      performed.push("semaphore_url");
    }
    if (isWaiting(next.queueState)) {
      next.queueState = waitingState(next.runAt, next.semaphoreUrl, now);
      next.generation++;
    }
  }
  if (change.persist !== undefined) {
    next.persist = change.persist;
    performed.push("persist");
  }
  switch (change.queueState) {
    case undefined:
      break;
    case "paused":
      if (meta.queueState === "started") events.push({ type: "pause" });
      if (meta.queueState !== "paused") next.queueState = "paused";
      performed.push("queue_state");
      break;
    case "queued":
      if (meta.queueState !== "paused") {
        if (isWaiting(meta.queueState)) {
          performed.push("queue_state");
          break;
        }
        return { ok: false, conflict: `Only a paused job can be resumed; this one is ${meta.queueState}.` };
      }
      next.queueState = waitingState(next.runAt, next.semaphoreUrl, now);
      next.generation++;
      performed.push("queue_state");
      break;
    case "broken":
      events.push({ type: "cancel", message: "job cancelled" });
      next.queueState = "broken";
      performed.push("queue_state");
      break;
  }
  if (performed.some((field) => field !== "persist")) next.syncPending = true;
  return { ok: true, meta: next, events, performed };
}
