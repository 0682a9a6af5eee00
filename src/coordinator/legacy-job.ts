import { EMPTY_LEDGER } from "../domain/cost";
import type { Severity } from "../domain/job-events";
import type { JobMeta } from "../domain/job-management";
import type { TaskState } from "../domain/job-state";
import type { DeliveryRecord, OutboxEntry } from "../domain/outbox";
import { pageOf, sealChunks, TASKS_PER_PAGE, type HeadDocument, type JobHead, type LogLine } from "./job-document";
import type { JobSpec } from "./job-spec";
import type { JobStore, JobWrites } from "./job-store";
import { endpointIndexOf } from "./job-writes";

/**
 * Jobs stored by an engine before the coordinator became each job's only store (CHANGELOG 0.2.0): their
 * coordinator had tables `job`, `tasks`, `outbox` and `projection`, and their log and delivery attempts
 * were in D1. Such a job is moved into the current layout, once, when its coordinator first wakes, so that
 * a job running during the upgrade carries on and an ended one keeps its whole history.
 */

const SEVERITIES: Record<number, Severity> = { 1: "info", 2: "warn", 3: "error" };

/** Whether this object holds a job in the old layout. */
export function isLegacyJob(sql: SqlStorage): boolean {
  return sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job'`).toArray().length > 0;
}

/** Moves an old-layout job into `store` (and its D1 log and delivery attempts with it), then drops the old tables. */
export async function convertLegacyJob(sql: SqlStorage, db: D1Database, store: JobStore, storage: DurableObjectStorage): Promise<void> {
  const row = sql.exec<{ spec: string; head: string; meta: string }>(`SELECT spec, head, meta FROM job WHERE id = 1`).toArray()[0];
  if (!row) {
    dropLegacyTables(sql);
    return;
  }
  const spec = JSON.parse(row.spec) as JobSpec;
  const head = JSON.parse(row.head) as JobHead;
  const meta = JSON.parse(row.meta) as JobMeta;
  const tasks = sql
    .exec<{ body: string }>(`SELECT body FROM tasks ORDER BY position`)
    .toArray()
    .map((task) => JSON.parse(task.body) as TaskState);
  const outbox = sql.exec<{ entry: string; body: string }>(`SELECT entry, body FROM outbox`).toArray();

  const [logs, callbacks, attempts] = await db.batch([
    db.prepare(`SELECT seq, task_id, severity, progname, message, created_at FROM logs WHERE job_id = ? ORDER BY id`).bind(spec.jobId),
    db.prepare(`SELECT id, created_at, updated_at FROM callbacks WHERE job_id = ?`).bind(spec.jobId),
    db.prepare(`SELECT callback_id, attempt, attempted_at, status, duration_ms, error FROM callback_attempts WHERE job_id = ? ORDER BY attempt`).bind(spec.jobId),
  ]);
  type LogRow = { seq: number | null; task_id: string | null; severity: number; progname: string; message: string; created_at: string };
  type CallbackRow = { id: string; created_at: string; updated_at: string };
  type AttemptRow = { callback_id: string; attempt: number; attempted_at: string; status: number | null; duration_ms: number; error: string | null };

  // The submission lines come from the spec; the rest of the log moves here.
  const lines: LogLine[] = ((logs?.results ?? []) as LogRow[])
    .filter((line) => line.progname !== "api")
    .map((line, index) => ({
      seq: line.seq ?? spec.submissionLog.length + index + 1,
      taskId: line.task_id,
      severity: SEVERITIES[line.severity] ?? "info",
      progname: line.progname,
      message: line.message,
      time: Date.parse(line.created_at),
    }));
  const times = new Map(((callbacks?.results ?? []) as CallbackRow[]).map((callback) => [callback.id, callback]));
  const attemptsOf = new Map<string, DeliveryRecord["attempts"]>();
  for (const attempt of (attempts?.results ?? []) as AttemptRow[]) {
    const list = attemptsOf.get(attempt.callback_id) ?? [];
    list.push({ attempt: attempt.attempt, startedAt: Date.parse(attempt.attempted_at), durationMs: attempt.duration_ms, status: attempt.status, retryAfterMs: null, error: attempt.error });
    attemptsOf.set(attempt.callback_id, list);
  }
  const now = Date.now();
  const records = outbox.map(({ entry: text, body }) => {
    const entry = JSON.parse(text) as OutboxEntry;
    const time = times.get(entry.id);
    const record: DeliveryRecord = {
      entry,
      createdAt: time ? Date.parse(time.created_at) : now,
      updatedAt: time ? Date.parse(time.updated_at) : now,
      attempts: attemptsOf.get(entry.id) ?? [],
    };
    return { sequence: entry.sequence, endpointIndex: endpointIndexOf(entry.id), record, body };
  });

  const log = sealChunks(lines);
  const settled = records.every(({ record }) => record.entry.state === "delivered" || record.entry.state === "failed");
  const document: HeadDocument = {
    head,
    meta,
    // What the job cost before the upgrade was never counted.
    ledger: EMPTY_LEDGER,
    updatedAt: now,
    tasks: tasks.slice(0, TASKS_PER_PAGE),
    log: log.keep,
    logChunks: log.chunks.length,
    deliveries: [],
    deliveryChunks: 0,
    // Written again in the current layout, once.
    indexVersion: 1,
    costReported: head.outcome !== "running" && settled,
  };
  const pages = new Map<number, TaskState[]>();
  tasks.slice(TASKS_PER_PAGE).forEach((task, index) => {
    const page = pageOf(TASKS_PER_PAGE + index);
    pages.set(page, [...(pages.get(page) ?? []), task]);
  });
  const writes: JobWrites = { document, pages, callbacks: records, logChunks: log.chunks.map((chunk, number) => ({ number, lines: chunk })) };
  storage.transactionSync(() => {
    store.create(spec, writes);
    dropLegacyTables(sql);
  });
}

function dropLegacyTables(sql: SqlStorage): void {
  for (const table of ["job", "tasks", "outbox", "projection"]) sql.exec(`DROP TABLE IF EXISTS ${table}`);
}
