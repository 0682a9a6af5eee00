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

/** A ClientScheduler's SQLite storage. */
export class SchedulerStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS entries (job_id TEXT PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS limits (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL)`);
  }

  entries(): SchedulerEntry[] {
    return this.sql
      .exec<{ body: string }>(`SELECT body FROM entries`)
      .toArray()
      .map((row) => JSON.parse(row.body) as SchedulerEntry);
  }

  save(entry: SchedulerEntry): void {
    this.sql.exec(
      `INSERT INTO entries (job_id, state, body) VALUES (?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, body = excluded.body`,
      entry.jobId,
      entry.state,
      JSON.stringify(entry),
    );
  }

  remove(jobId: string): void {
    this.sql.exec(`DELETE FROM entries WHERE job_id = ?`, jobId);
  }

  limits(): AdmissionLimits | null {
    const row = this.sql.exec<{ body: string }>(`SELECT body FROM limits WHERE id = 1`).toArray()[0];
    return row ? (JSON.parse(row.body) as AdmissionLimits) : null;
  }

  saveLimits(limits: AdmissionLimits): void {
    this.sql.exec(`INSERT INTO limits (id, body) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body`, JSON.stringify(limits));
  }
}
