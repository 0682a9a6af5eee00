import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/**
 * What "the state" is for the refused-changes-nothing check: the engine's D1 database read straight from the
 * persisted state directory (read-only; D1 runs SQLite in WAL mode, so a reader never blocks the engine),
 * the coordinators (Durable Object SQLite) of the seeded jobs, and a few API reads a client sees (listings
 * with positions from the scheduler, the operator view).
 * A running job changes on its own (task progress, its log, its callbacks), so a job in `started` keeps only
 * the fields a request could change; everything else must be identical.
 */

export interface Snapshot {
  /** API reads by name ("jobs fuzz-main", "admin fuzz-s1", …), normalised. */
  api: Record<string, unknown>;
  /** D1 rows by table, each row as JSON, sorted. */
  d1: Record<string, string[]>;
  /** The storage of some jobs' coordinators (their source of truth), rows by "job id table". */
  coordinators?: Record<string, string[]>;
}

/** Tables that are no client's state: SQLite's and D1's bookkeeping, and whatever a throttle counts. */
export const SKIPPED_TABLES = /^(sqlite_|_cf_|d1_migrations$)|throttl|rate_?limit|auth_?fail/i;

/** Job fields a running job changes on its own. */
const MOVING_JOB_FIELDS = ["progress", "updated_at", "version", "started_at", "ended_at", "result", "tasks", "position", "top_of_queue"];

/** The D1 database file of a persisted state directory. */
export function findD1File(persistTo: string): string {
  const dir = join(persistTo, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((name) => name.endsWith(".sqlite") && name !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 database in ${dir}`);
  return join(dir, file);
}

/** Every row of every table (but SKIPPED_TABLES); rows of started jobs left out or masked. */
export function readD1(file: string): Record<string, string[]> {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const moving = new Set(db.prepare("SELECT id FROM jobs WHERE queue_state = 'started'").all().map((row) => String(row.id)));
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((row) => String(row.name));
    const digest: Record<string, string[]> = {};
    for (const table of tables) {
      if (SKIPPED_TABLES.test(table)) continue;
      const rows: string[] = [];
      for (const row of db.prepare(`SELECT * FROM "${table}"`).all()) {
        if (table === "jobs" && moving.has(String(row.id))) rows.push(JSON.stringify(omit({ ...row }, MOVING_JOB_FIELDS)));
        else if (table !== "jobs" && "job_id" in row && moving.has(String(row.job_id))) continue;
        else rows.push(JSON.stringify({ ...row }));
      }
      digest[table] = rows.sort();
    }
    return digest;
  } finally {
    db.close();
  }
}

/**
 * The SQLite files of JobCoordinator objects, by job id. Files are named by object id, so each is opened once
 * to read its job id (`cache`: file → job id, kept by the caller across calls).
 */
export function coordinatorFiles(persistTo: string, cache: Map<string, string | null>): Map<string, string> {
  const dir = join(persistTo, "v3", "do", "task-engine-JobCoordinator");
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".sqlite") || name === "metadata.sqlite" || cache.has(name)) continue;
    try {
      const spec = coordinatorRows(join(dir, name)).find((row) => row.key === SPEC_KEY);
      if (spec) cache.set(name, (JSON.parse(spec.body) as { jobId: string }).jobId);
    } catch {
      // Not created yet (no job_rows table): look again next time.
    }
  }
  const byJob = new Map<string, string>();
  for (const [name, jobId] of cache) if (jobId) byJob.set(jobId, join(dir, name));
  return byJob;
}

/** Keys of the coordinator's rows (src/coordinator/job-store.ts): the head, the spec, and the kinds of rows by range. */
const HEAD_KEY = 0;
const SPEC_KEY = 1;
const KIND = 1e12;
const CALLBACKS = [3 * KIND, 4 * KIND] as const;
const DELIVERY_CHUNKS = [5 * KIND, 6 * KIND] as const;

interface CoordinatorRow {
  key: number;
  body: string;
  extra: string | null;
}

/**
 * A coordinator's rows (its one table, job_rows). Read from a copy of its files: an active Durable Object
 * holds its database locked (a reader gets "database is locked", and a reader's lock could get in the
 * engine's way). Copying takes no lock; opening the copy recovers the committed transactions from the
 * write-ahead log and ignores a half-written one.
 */
function coordinatorRows(file: string): CoordinatorRow[] {
  const copy = join(mkdtempSync(join(tmpdir(), "fuzz-coordinator-")), "copy.sqlite");
  try {
    copyFileSync(file, copy);
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
    const db = new DatabaseSync(copy);
    try {
      return db.prepare(`SELECT key, body, extra FROM job_rows ORDER BY key`).all().map((row) => ({ key: Number(row.key), body: String(row.body), extra: row.extra === null ? null : String(row.extra) }));
    } finally {
      db.close();
    }
  } finally {
    rmSync(dirname(copy), { recursive: true, force: true });
  }
}

/** A coordinator's rows as JSON, sorted: the digest compared before and after a chunk. */
export function readCoordinator(file: string): Record<string, string[]> {
  return { job_rows: coordinatorRows(file).map((row) => JSON.stringify(row)).sort() };
}

/** How many callbacks of the job wait for delivery, and its queue state (from the coordinator's own rows). */
function coordinatorActivity(file: string): { queueState: string; pendingCallbacks: number } {
  const rows = coordinatorRows(file);
  const head = rows.find((row) => row.key === HEAD_KEY);
  if (!head) return { queueState: "unknown", pendingCallbacks: 0 };
  const document = JSON.parse(head.body) as { meta: { queueState: string }; deliveries: { entry: { id: string; state: string } }[] };
  // Newest last, as the store reads them: as made, as sealed, as in the head.
  const latest = new Map<string, string>();
  const within = (key: number, [from, to]: readonly [number, number]) => key >= from && key < to;
  for (const row of rows) if (within(row.key, CALLBACKS)) latest.set(JSON.parse(row.body).entry.id, JSON.parse(row.body).entry.state);
  for (const row of rows) if (within(row.key, DELIVERY_CHUNKS)) for (const record of JSON.parse(row.body) as { entry: { id: string; state: string } }[]) latest.set(record.entry.id, record.entry.state);
  for (const record of document.deliveries) latest.set(record.entry.id, record.entry.state);
  const pendingCallbacks = [...latest.values()].filter((state) => state === "pending" || state === "in_flight").length;
  return { queueState: document.meta.queueState, pendingCallbacks };
}

/** Ids of started jobs (from D1), and how many callbacks of jobs that are not started still wait for delivery. */
export function activity(file: string, coordinators: Iterable<string>): { started: { id: string; contentId: string | null }[]; pendingCallbacks: number } {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const started = db
      .prepare("SELECT id, content_id FROM jobs WHERE queue_state = 'started'")
      .all()
      .map((row) => ({ id: String(row.id), contentId: row.content_id === null ? null : String(row.content_id) }));
    let pendingCallbacks = 0;
    for (const coordinator of coordinators) {
      const now = coordinatorActivity(coordinator);
      if (now.queueState !== "started") pendingCallbacks += now.pendingCallbacks;
    }
    return { started, pendingCallbacks };
  } finally {
    db.close();
  }
}

/** A job object with only what requests change when it is running. */
export function normaliseJob(job: unknown): unknown {
  if (typeof job !== "object" || job === null) return job;
  const record = job as Record<string, unknown>;
  return record.queue_state === "started" ? omit({ ...record }, MOVING_JOB_FIELDS) : record;
}

/** Human-readable differences between two snapshots (at most `limit`). */
export function diffSnapshots(before: Snapshot, after: Snapshot, limit = 12): string[] {
  const differences: string[] = [];
  for (const key of new Set([...Object.keys(before.api), ...Object.keys(after.api)])) {
    const a = JSON.stringify(before.api[key]);
    const b = JSON.stringify(after.api[key]);
    if (a !== b) differences.push(`API ${key}: ${firstDifference(a ?? "(absent)", b ?? "(absent)")}`);
  }
  const rows = (what: string, x: Record<string, string[]>, y: Record<string, string[]>) => {
    for (const table of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const a = new Set(x[table] ?? []);
      const b = new Set(y[table] ?? []);
      for (const row of a) if (!b.has(row)) differences.push(`${what} ${table} row gone or changed: ${clip(row)}`);
      for (const row of b) if (!a.has(row)) differences.push(`${what} ${table} row new or changed: ${clip(row)}`);
    }
  };
  rows("D1", before.d1, after.d1);
  rows("coordinator of", before.coordinators ?? {}, after.coordinators ?? {});
  return differences.slice(0, limit);
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 60);
  return `before …${a.slice(from, i + 120)}… after …${b.slice(from, i + 120)}…`;
}

function omit(record: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  for (const field of fields) delete record[field];
  return record;
}

function clip(text: string, length = 400): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}
