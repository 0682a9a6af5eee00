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

export type JobOrder = "created_at" | "updated_at" | "priority";

export interface JobFilter {
  limit: number;
  orderBy: JobOrder;
  ascending: boolean;
  queueState?: string;
  failed?: boolean;
  /** Creation time bounds (ISO-8601, inclusive from, exclusive to). */
  from?: string;
  to?: string;
  /** content_id prefix. */
  search?: string;
  jobIds?: string[];
  workflow?: string;
  persist?: boolean;
  /** Continue after this row (keyset pagination). */
  after?: { value: string | number; id: string };
}

/**
 * One page of the client's jobs. Every condition is a bound parameter on an indexed column that starts
 * with the client; the ORDER BY column comes from a closed list. Fetches one row more than the limit, so
 * the caller knows whether a next page exists.
 */
export async function listJobs(db: D1Database, client: string, filter: JobFilter): Promise<JobRow[]> {
  const { sql, params } = listJobsQuery(client, filter);
  const { results } = await db
    .prepare(sql)
    .bind(...params)
    .all<JobRow>();
  return results;
}

/** The SQL of one page (see migrations/0005: every filter reads one index range, in order). */
export function listJobsQuery(client: string, filter: JobFilter): { sql: string; params: SqlValue[] } {
  // Listed ids are looked up by primary key and the few rows sorted; `+` keeps the planner from walking a
  // client index instead (local D1 has no statistics to tell it better).
  const byIds = filter.jobIds !== undefined;
  const where = [byIds ? "+client = ?" : "client = ?"];
  const params: SqlValue[] = [client];
  const add = (condition: string, ...values: SqlValue[]) => {
    where.push(condition);
    params.push(...values);
  };
  if (filter.queueState !== undefined) add("queue_state = ?", filter.queueState);
  // A literal, not a parameter: `failed = 1` lets the planner use the partial index of failed jobs.
  if (filter.failed !== undefined) add(`failed = ${filter.failed ? 1 : 0}`);
  if (filter.from !== undefined) add("created_at >= ?", filter.from);
  if (filter.to !== undefined) add("created_at < ?", filter.to);
  // A prefix match as a range keeps the (client, content_id) index usable; LIKE would not.
  if (filter.search !== undefined) add("content_id >= ? AND content_id < ?", filter.search, `${filter.search}\uffff`);
  if (filter.jobIds !== undefined) add(`id IN (${filter.jobIds.map(() => "?").join(", ")})`, ...filter.jobIds);
  if (filter.workflow !== undefined) add("workflow = ?", filter.workflow);
  if (filter.persist !== undefined) add(`persist = ${filter.persist ? 1 : 0}`);
  const column = filter.orderBy;
  const direction = filter.ascending ? "ASC" : "DESC";
  const beyond = filter.ascending ? ">" : "<";
  // (column, id) beyond the cursor as a row value: one range of the (client, column, id) index.
  if (filter.after) add(`(${column}, id) ${beyond} (?, ?)`, filter.after.value, filter.after.id);
  const sql = `SELECT * FROM jobs WHERE ${where.join(" AND ")} ORDER BY ${column} ${direction}, id ${direction} LIMIT ?`;
  return { sql, params: [...params, filter.limit + 1] };
}

export async function jobsInStates(db: D1Database, client: string, states: string[], limit: number): Promise<JobRow[]> {
  const { results } = await db
    .prepare(`SELECT * FROM jobs WHERE client = ? AND queue_state IN (${states.map(() => "?").join(", ")}) ORDER BY created_at LIMIT ?`)
    .bind(client, ...states, limit)
    .all<JobRow>();
  return results;
}

/** How many of the client's jobs are in each queue state, failed ones apart. */
export async function jobCounts(db: D1Database, client: string): Promise<Record<string, number>> {
  const { results } = await db
    .prepare(`SELECT queue_state, failed, COUNT(*) AS n FROM jobs WHERE client = ? GROUP BY queue_state, failed`)
    .bind(client)
    .all<{ queue_state: string; failed: number; n: number }>();
  const counts: Record<string, number> = { queued: 0, started: 0, scheduled: 0, paused: 0, pending: 0, completed: 0, failed: 0, broken: 0 };
  for (const row of results) {
    const key = row.queue_state === "completed" && row.failed === 1 ? "failed" : row.queue_state;
    counts[key] = (counts[key] ?? 0) + row.n;
  }
  return counts;
}


