import type { DeliveryRecord } from "../domain/outbox";
import type { TaskState } from "../domain/job-state";
import { callbackKey, type HeadDocument, type LogLine } from "./job-document";
import type { JobSpec } from "./job-spec";

/**
 * A JobCoordinator's SQLite storage, in the layout of job-document.ts. Everything lives in one table keyed
 * by an integer (its rowid: no index row beside each row), the key's high part naming what the row holds.
 * The table is made when the job is created, so a request for an unknown job writes nothing. Every row this
 * store writes is counted (`takeRowsWritten`), for the job's cost ledger. All writes are synchronous; the
 * caller groups them in one transaction.
 */

const KIND = 1e12;
const HEAD = 0;
const SPEC = 1;
/** The job index version last written to D1 (a tiny row of its own: the head may be large). */
const INDEXED = 2;
const TASK_PAGE = 2 * KIND;
const CALLBACK = 3 * KIND;
const LOG_CHUNK = 4 * KIND;
const DELIVERY_CHUNK = 5 * KIND;

/** A job as stored: what the coordinator needs to act on it. */
export interface StoredJob {
  spec: JobSpec;
  document: HeadDocument;
  /** Task pages 1…n (page 0 is in the head). */
  pages: TaskState[][];
  /** Every callback's newest delivery record: as made, then as sealed, then as in the head. */
  deliveries: DeliveryRecord[];
  /** The job index version last written to D1. */
  indexedVersion: number;
}

/** A new callback: its delivery record as made, and the body every attempt sends. */
export interface NewCallback {
  sequence: number;
  endpointIndex: number;
  record: DeliveryRecord;
  body: string;
}

/** What one transition writes. */
export interface JobWrites {
  document: HeadDocument;
  /** Task pages (≥ 1) to rewrite, with their tasks. */
  pages?: Map<number, TaskState[]>;
  callbacks?: NewCallback[];
  /** Log lines sealed into chunk `number`. */
  logChunks?: { number: number; lines: LogLine[] }[];
  /** Settled delivery records sealed into chunk `number`, with the bodies that were in the head. */
  deliveryChunks?: { number: number; records: DeliveryRecord[]; bodies: Record<string, string> }[];
}

export class JobStore {
  private written = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** Whether this object holds a job in this layout. */
  exists(): boolean {
    return this.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job_rows'`).toArray().length > 0;
  }

  /** Stores a new job: its spec, its head and any task pages beyond the first. */
  create(spec: JobSpec, writes: JobWrites): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS job_rows (key INTEGER PRIMARY KEY, body TEXT NOT NULL, extra TEXT)`);
    this.put(SPEC, JSON.stringify(spec));
    this.write(writes);
  }

  /** Stores a transition's rows. */
  write(writes: JobWrites): void {
    this.put(HEAD, JSON.stringify(writes.document));
    for (const [page, tasks] of writes.pages ?? []) this.put(TASK_PAGE + page, JSON.stringify(tasks));
    for (const callback of writes.callbacks ?? []) {
      this.put(CALLBACK + callbackKey(callback.sequence, callback.endpointIndex), JSON.stringify(callback.record), callback.body);
    }
    for (const chunk of writes.logChunks ?? []) this.put(LOG_CHUNK + chunk.number, JSON.stringify(chunk.lines));
    for (const chunk of writes.deliveryChunks ?? []) this.put(DELIVERY_CHUNK + chunk.number, JSON.stringify(chunk.records), JSON.stringify(chunk.bodies));
  }

  load(): StoredJob | null {
    if (!this.exists()) return null;
    const spec = this.get<JobSpec>(SPEC);
    const document = this.get<HeadDocument>(HEAD);
    if (!spec || !document) return null;
    const pages = this.range<TaskState[]>(TASK_PAGE, CALLBACK);
    // Newest last: a record as made, then sealed ones chunk by chunk, then the head's.
    const latest = new Map<string, DeliveryRecord>();
    for (const record of this.range<DeliveryRecord>(CALLBACK, LOG_CHUNK)) latest.set(record.entry.id, record);
    for (const chunk of this.range<DeliveryRecord[]>(DELIVERY_CHUNK, 6 * KIND)) for (const record of chunk) latest.set(record.entry.id, record);
    for (const record of document.deliveries) latest.set(record.entry.id, record);
    return { spec, document, pages, deliveries: [...latest.values()], indexedVersion: this.get<number>(INDEXED) ?? 0 };
  }

  /** Notes that the D1 job index row holds job-level version `version`. */
  putIndexed(version: number): void {
    this.put(INDEXED, JSON.stringify(version));
  }

  /**
   * The body of a callback that is not in the head, exactly as it is signed and sent: from its own row, or
   * from the sealed delivery chunk it moved into.
   */
  callbackBody(id: string, sequence: number, endpointIndex: number): string | null {
    const own = this.sql.exec<{ extra: string | null }>(`SELECT extra FROM job_rows WHERE key = ?`, CALLBACK + callbackKey(sequence, endpointIndex)).toArray()[0];
    if (own) return own.extra;
    const path = `$.${JSON.stringify(id)}`;
    const sealed = this.sql
      .exec<{ body: string | null }>(`SELECT json_extract(extra, ?) AS body FROM job_rows WHERE key >= ? AND key < ? AND json_extract(extra, ?) IS NOT NULL LIMIT 1`, path, DELIVERY_CHUNK, 6 * KIND, path)
      .toArray()[0];
    return sealed?.body ?? null;
  }

  /** The sealed log lines, oldest first. */
  sealedLog(): LogLine[] {
    return this.range<LogLine[]>(LOG_CHUNK, DELIVERY_CHUNK).flat();
  }

  /** Rows written since the last call (for the cost ledger). */
  takeRowsWritten(): number {
    const written = this.written;
    this.written = 0;
    return written;
  }

  /** Counts one row written outside SQL (a `setAlarm()` is billed as one). */
  countRowWritten(): void {
    this.written++;
  }

  private put(key: number, body: string, extra: string | null = null): void {
    // An upsert, not INSERT OR REPLACE: a replace deletes the old row first, which may count as a second write.
    const cursor = this.sql.exec(
      `INSERT INTO job_rows (key, body, extra) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body, extra = excluded.extra`,
      key,
      body,
      extra,
    );
    this.written += cursor.rowsWritten;
  }

  private get<T>(key: number): T | null {
    const row = this.sql.exec<{ body: string }>(`SELECT body FROM job_rows WHERE key = ?`, key).toArray()[0];
    return row ? (JSON.parse(row.body) as T) : null;
  }

  private range<T>(from: number, to: number): T[] {
    return this.sql
      .exec<{ body: string }>(`SELECT body FROM job_rows WHERE key >= ? AND key < ? ORDER BY key`, from, to)
      .toArray()
      .map((row) => JSON.parse(row.body) as T);
  }
}
