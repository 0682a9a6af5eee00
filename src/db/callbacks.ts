/** The callback delivery log in D1 (written by the coordinators' projection). */

export interface CallbackRow {
  id: string;
  endpoint: string;
  event: string;
  sequence: number;
  state: string;
  attempts: number;
  next_attempt_at: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface AttemptRow {
  callback_id: string;
  attempt: number;
  attempted_at: string;
  status: number | null;
  duration_ms: number;
  error: string | null;
}

export async function jobCallbacks(db: D1Database, jobId: string): Promise<{ callbacks: CallbackRow[]; attempts: AttemptRow[] }> {
  const [callbacks, attempts] = await db.batch([
    db
      .prepare(
        `SELECT id, endpoint, event, sequence, state, attempts, next_attempt_at, error, created_at, updated_at
         FROM callbacks WHERE job_id = ? ORDER BY sequence, id`,
      )
      .bind(jobId),
    db
      .prepare(`SELECT callback_id, attempt, attempted_at, status, duration_ms, error FROM callback_attempts WHERE job_id = ? ORDER BY callback_id, attempt`)
      .bind(jobId),
  ]);
  return { callbacks: (callbacks?.results ?? []) as CallbackRow[], attempts: (attempts?.results ?? []) as AttemptRow[] };
}
