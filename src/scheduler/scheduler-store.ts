import type { AdmissionLimits } from "../domain/admission";

/** Where a job stands with admission control. */
export type EntryState = "scheduled" | "queued" | "started";

export interface SchedulerEntry {
  jobId: string;
  /** Bumped by the job's coordinator each time the job (re-)enters the queue; older syncs are stale. */
  generation: number;
  priority: number;
  submittedAt: number;
  state: EntryState;
  /** Not before this time (ms), when set. */
  runAt: number | null;
  /** Waits until a GET on it answers 2xx/3xx, when set. */
  semaphoreUrl: string | null;
  /** When the scheduler next checks a scheduled job (run_at, semaphore poll). */
  checkAt: number | null;
  /** When the job took its slot. */
  startedAt: number | null;
  /** The coordinator has not yet confirmed the start (retried by the alarm). */
  admitPending: boolean;
}

/**
 * A ClientScheduler's SQLite storage. The queue is keyed by job id WITHOUT ROWID, so an entry is one row
 * (a rowid table with a text key writes a second, index row); every row written is counted, for the jobs'
 * cost ledgers.
 */
export class SchedulerStore {
  private written = 0;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS queue (job_id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID`);
    sql.exec(`CREATE TABLE IF NOT EXISTS limits (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL)`);
    // The queue of an engine before 0.2 (a rowid table) moves over once.
    if (sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'`).toArray().length > 0) {
      sql.exec(`INSERT OR IGNORE INTO queue (job_id, body) SELECT job_id, body FROM entries`);
      sql.exec(`DROP TABLE entries`);
    }
  }

  entries(): SchedulerEntry[] {
    return this.sql
      .exec<{ body: string }>(`SELECT body FROM queue`)
      .toArray()
      .map((row) => JSON.parse(row.body) as SchedulerEntry);
  }

  save(entry: SchedulerEntry): void {
    this.run(`INSERT INTO queue (job_id, body) VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET body = excluded.body`, entry.jobId, JSON.stringify(entry));
  }

  remove(jobId: string): void {
    this.run(`DELETE FROM queue WHERE job_id = ?`, jobId);
  }

  limits(): AdmissionLimits | null {
    const row = this.sql.exec<{ body: string }>(`SELECT body FROM limits WHERE id = 1`).toArray()[0];
    return row ? (JSON.parse(row.body) as AdmissionLimits) : null;
  }

  saveLimits(limits: AdmissionLimits): void {
    this.run(`INSERT INTO limits (id, body) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body`, JSON.stringify(limits));
  }

  /** Rows written since the last call; a `setAlarm()` is counted as one (countRowWritten). */
  takeRowsWritten(): number {
    const written = this.written;
    this.written = 0;
    return written;
  }

  countRowWritten(): void {
    this.written++;
  }

  private run(query: string, ...bindings: (string | number | null)[]): void {
    this.written += this.sql.exec(query, ...bindings).rowsWritten;
  }
}
