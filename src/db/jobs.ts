import type { SqlValue } from "./statement";

/** A row of the `jobs` table. */
export interface JobRow {
  id: string;
  client: string;
  workflow: string;
  content_id: string | null;
  priority: number;
  queue_state: string;
  failed: number;
  run_at: string | null;
  semaphore_url: string | null;
  persist: number;
  parameters: string;
  result: string | null;
  progress: number;
  rerun_of: string | null;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
}

export interface TaskRow {
  task_id: string;
  task_name: string;
  state: string;
  attempts: number;
  started_at: string | null;
  ended_at: string | null;
  message: string;
  progress: number;
}

/** One of the client's jobs; another client's job is indistinguishable from an unknown id. */
export async function findJob(db: D1Database, client: string, id: string): Promise<JobRow | null> {
  return db.prepare(`SELECT * FROM jobs WHERE id = ? AND client = ?`).bind(id, client).first<JobRow>();
}

export async function jobTasks(db: D1Database, jobId: string): Promise<TaskRow[]> {
  const { results } = await db
    .prepare(
      `SELECT task_id, task_name, state, attempts, started_at, ended_at, message, progress
       FROM tasks WHERE job_id = ? ORDER BY position`,
    )
    .bind(jobId)
    .all<TaskRow>();
  return results;
}

export interface JobFilter {
  limit: number;
  orderBy: "created_at" | "updated_at" | "priority";
  ascending: boolean;
  queueState?: string;
  failed?: boolean;
}

export async function listJobs(db: D1Database, client: string, filter: JobFilter): Promise<JobRow[]> {
  const where = ["client = ?"];
  const params: SqlValue[] = [client];
  if (filter.queueState !== undefined) {
    where.push("queue_state = ?");
    params.push(filter.queueState);
  }
  if (filter.failed !== undefined) {
    where.push("failed = ?");
    params.push(filter.failed ? 1 : 0);
  }
  const direction = filter.ascending ? "ASC" : "DESC";
  // The column comes from a closed list, never from the request text.
  const sql = `SELECT * FROM jobs WHERE ${where.join(" AND ")} ORDER BY ${filter.orderBy} ${direction}, id ${direction} LIMIT ?`;
  const { results } = await db
    .prepare(sql)
    .bind(...params, filter.limit)
    .all<JobRow>();
  return results;
}

export interface LogRow {
  id: number;
  job_id: string;
  task_id: string | null;
  severity: number;
  progname: string;
  message: string;
  visible: number;
  created_at: string;
}

export async function jobLogs(db: D1Database, jobId: string, showAll: boolean): Promise<LogRow[]> {
  const { results } = await db
    .prepare(
      `SELECT id, job_id, task_id, severity, progname, message, visible, created_at FROM logs
       WHERE job_id = ? ${showAll ? "" : "AND visible = 1"} ORDER BY created_at, id`,
    )
    .bind(jobId)
    .all<LogRow>();
  return results;
}
