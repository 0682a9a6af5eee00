import type { JobMeta } from "../domain/job-management";
import type { JobState, TaskState } from "../domain/job-state";
import type { OutboxEntry } from "../domain/outbox";
import type { Statement } from "../db/statement";
import type { JobSpec } from "./job-spec";

/** The job-level part of the state; tasks are stored one row each so a transition writes only what changed. */
type JobHead = Omit<JobState, "tasks">;

export interface StoredJob {
  spec: JobSpec;
  state: JobState;
  meta: JobMeta;
  outbox: OutboxEntry[];
}

/** A JobCoordinator's durable storage (Durable Object SQLite). All writes are synchronous. */
export class JobStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS job (id INTEGER PRIMARY KEY CHECK (id = 1), spec TEXT NOT NULL, head TEXT NOT NULL, meta TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS tasks (name TEXT PRIMARY KEY, position INTEGER NOT NULL, body TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, entry TEXT NOT NULL, body TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS projection (id INTEGER PRIMARY KEY AUTOINCREMENT, statement TEXT NOT NULL)`);
  }

  load(): StoredJob | null {
    const row = this.sql.exec<{ spec: string; head: string; meta: string }>(`SELECT spec, head, meta FROM job WHERE id = 1`).toArray()[0];
    if (!row) return null;
    const head = JSON.parse(row.head) as JobHead;
    const tasks: Record<string, TaskState> = {};
    for (const task of this.sql.exec<{ body: string }>(`SELECT body FROM tasks ORDER BY position`)) {
      const parsed = JSON.parse(task.body) as TaskState;
      tasks[parsed.name] = parsed;
    }
    const outbox = this.sql
      .exec<{ entry: string }>(`SELECT entry FROM outbox`)
      .toArray()
      .map((entry) => JSON.parse(entry.entry) as OutboxEntry);
    return { spec: JSON.parse(row.spec) as JobSpec, state: { ...head, tasks }, meta: JSON.parse(row.meta) as JobMeta, outbox };
  }

  /** Stores the job-level state and meta (the spec only the first time). */
  saveJob(spec: JobSpec, state: JobState, meta: JobMeta): void {
    const { tasks: _tasks, ...head } = state;
    this.sql.exec(
      `INSERT INTO job (id, spec, head, meta) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET head = excluded.head, meta = excluded.meta`,
      JSON.stringify(spec),
      JSON.stringify(head),
      JSON.stringify(meta),
    );
  }

  saveTask(task: TaskState, position: number): void {
    this.sql.exec(
      `INSERT INTO tasks (name, position, body) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET body = excluded.body`,
      task.name,
      position,
      JSON.stringify(task),
    );
  }

  /** Stores a new callback with its body, or the new fields of a known one. */
  saveOutboxEntry(entry: OutboxEntry, body?: string): void {
    if (body !== undefined) {
      this.sql.exec(`INSERT OR REPLACE INTO outbox (id, entry, body) VALUES (?, ?, ?)`, entry.id, JSON.stringify(entry), body);
    } else {
      this.sql.exec(`UPDATE outbox SET entry = ? WHERE id = ?`, JSON.stringify(entry), entry.id);
    }
  }

  callbackBody(id: string): string | null {
    return this.sql.exec<{ body: string }>(`SELECT body FROM outbox WHERE id = ?`, id).toArray()[0]?.body ?? null;
  }

  appendProjection(statements: Statement[]): void {
    for (const statement of statements) this.sql.exec(`INSERT INTO projection (statement) VALUES (?)`, JSON.stringify(statement));
  }

  /** The id of the newest pending projection statement (0 when none is pending). */
  newestProjectionId(): number {
    return this.sql.exec<{ id: number | null }>(`SELECT MAX(id) AS id FROM projection`).one().id ?? 0;
  }

  /** The id of the oldest pending projection statement, or null when everything is in D1. */
  oldestProjectionId(): number | null {
    return this.sql.exec<{ id: number | null }>(`SELECT MIN(id) AS id FROM projection`).one().id;
  }

  /** The oldest pending projection statements, up to `limit`. */
  pendingProjection(limit: number): { lastId: number; statements: Statement[] } | null {
    const rows = this.sql
      .exec<{ id: number; statement: string }>(`SELECT id, statement FROM projection ORDER BY id LIMIT ?`, limit)
      .toArray();
    if (rows.length === 0) return null;
    return { lastId: rows[rows.length - 1]!.id, statements: rows.map((row) => JSON.parse(row.statement) as Statement) };
  }

  dropProjection(throughId: number): void {
    this.sql.exec(`DELETE FROM projection WHERE id <= ?`, throughId);
  }

  hasPendingProjection(): boolean {
    return this.sql.exec(`SELECT 1 FROM projection LIMIT 1`).toArray().length > 0;
  }
}
