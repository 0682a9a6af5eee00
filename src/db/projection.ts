import type { Severity } from "../domain/job-events";
import type { JobState, TaskState } from "../domain/job-state";
import type { AttemptOutcome, OutboxEntry } from "../domain/outbox";
import type { JobSpec } from "../coordinator/job-spec";
import type { JobMeta } from "../domain/job-management";
import { iso, type Statement } from "./statement";

/**
 * Statements that copy a coordinator's state into D1, the queryable projection. Every statement is
 * idempotent (upsert or insert-or-ignore): a batch may be applied again after a lost response.
 */

/** The job's row as the coordinator sees it now; the first write creates it, later ones update it. */
export function jobRow(
  spec: JobSpec,
  state: JobState,
  meta: JobMeta,
  progress: number,
  result: Record<string, unknown> | null,
  now: number,
): Statement {
  return {
    sql: `INSERT INTO jobs (id, client, workflow, content_id, priority, queue_state, failed, run_at, semaphore_url, persist,
                            parameters, result, progress, rerun_of, created_at, updated_at, started_at, ended_at, version)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET priority = excluded.priority, queue_state = excluded.queue_state,
            failed = excluded.failed, run_at = excluded.run_at, semaphore_url = excluded.semaphore_url,
            persist = excluded.persist, result = excluded.result, progress = excluded.progress,
            updated_at = excluded.updated_at, started_at = excluded.started_at, ended_at = excluded.ended_at,
            version = excluded.version`,
    params: [
      spec.jobId,
      spec.client,
      spec.workflow,
      spec.contentId,
      meta.priority,
      meta.queueState,
      state.outcome === "failed" ? 1 : 0,
      iso(meta.runAt),
      meta.semaphoreUrl,
      meta.persist ? 1 : 0,
      JSON.stringify(spec.submittedParameters),
      result === null ? null : JSON.stringify(result),
      progress,
      spec.rerunOf ?? null,
      iso(spec.createdAt),
      iso(now),
      iso(meta.startedAt),
      iso(state.endedAt),
      state.version,
    ],
  };
}

export function taskRow(jobId: string, task: TaskState, position: number): Statement {
  return {
    sql: `INSERT INTO tasks (job_id, task_id, task_name, position, state, attempts, started_at, ended_at, message, progress, version)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (job_id, task_id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
            started_at = excluded.started_at, ended_at = excluded.ended_at, message = excluded.message,
            progress = excluded.progress, version = excluded.version
          WHERE excluded.version > tasks.version`,
    params: [
      jobId,
      task.id,
      task.name,
      position,
      task.status,
      task.attempt,
      iso(task.startedAt),
      iso(task.endedAt),
      task.message,
      task.progress,
      task.version,
    ],
  };
}

const SEVERITY_NUMBER: Record<Severity, number> = { info: 1, warn: 2, error: 3 };

export function logRow(
  jobId: string,
  line: { seq: number; taskId: string | null; severity: Severity; message: string; time: number },
  progname = "controller",
): Statement {
  return {
    sql: `INSERT OR IGNORE INTO logs (job_id, seq, task_id, severity, progname, message, visible, created_at)
          VALUES (?, ?, ?, ?, ?, ?, 1, ?)`,
    params: [jobId, line.seq, line.taskId, SEVERITY_NUMBER[line.severity], progname, line.message, iso(line.time)],
  };
}

export function callbackRow(jobId: string, entry: OutboxEntry, createdAt: number, now: number): Statement {
  return {
    sql: `INSERT INTO callbacks (id, job_id, endpoint, event, sequence, state, attempts, next_attempt_at, error, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
            next_attempt_at = excluded.next_attempt_at, error = excluded.error, updated_at = excluded.updated_at`,
    params: [
      entry.id,
      jobId,
      entry.endpoint,
      entry.event,
      entry.sequence,
      entry.state,
      entry.attempts,
      entry.state === "pending" ? iso(entry.dueAt) : null,
      entry.error,
      iso(createdAt),
      iso(now),
    ],
  };
}

export interface AttemptRecord extends AttemptOutcome {
  startedAt: number;
  durationMs: number;
}

/**
 * One attempt in the delivery log. The first report of an attempt wins, as in the outbox: a queue
 * message delivered twice repeats the attempt, and its second outcome was never applied.
 */
export function attemptRow(jobId: string, callbackId: string, attempt: number, record: AttemptRecord): Statement {
  return {
    sql: `INSERT OR IGNORE INTO callback_attempts (callback_id, attempt, job_id, attempted_at, status, duration_ms, error)
          VALUES (?, ?, ?, ?, ?, ?, ?)`,
    params: [callbackId, attempt, jobId, iso(record.startedAt), record.status, Math.round(record.durationMs), record.error],
  };
}
