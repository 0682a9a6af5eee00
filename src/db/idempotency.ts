/** POST /job Idempotency-Key records: one job per (client, key) for 24 hours. */

const TTL_MS = 24 * 3600 * 1000;

export type Reservation = { kind: "reserved" } | { kind: "replay"; jobId: string } | { kind: "conflict" };

/**
 * Reserves `key` for a new job `jobId`, or finds the job it already names. An expired record is taken over.
 * The insert decides between concurrent requests with the same key: only one reserves it.
 */
export async function reserveKey(db: D1Database, client: string, key: string, bodyHash: string, jobId: string, now: number): Promise<Reservation> {
  const reserved = await db
    .prepare(
      `INSERT INTO idempotency_keys (client, key, body_hash, job_id, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (client, key) DO UPDATE SET body_hash = excluded.body_hash, job_id = excluded.job_id, created_at = excluded.created_at
       WHERE idempotency_keys.created_at < ?
       RETURNING job_id`,
    )
    .bind(client, key, bodyHash, jobId, new Date(now).toISOString(), new Date(now - TTL_MS).toISOString())
    .first<{ job_id: string }>();
  if (reserved?.job_id === jobId) return { kind: "reserved" };
  const existing = await db
    .prepare(`SELECT body_hash, job_id FROM idempotency_keys WHERE client = ? AND key = ?`)
    .bind(client, key)
    .first<{ body_hash: string; job_id: string }>();
  if (!existing) return { kind: "conflict" };
  return existing.body_hash === bodyHash ? { kind: "replay", jobId: existing.job_id } : { kind: "conflict" };
}

/** Gives a key back when its job could not be created, so a retry with the same key can try again. */
export async function releaseKey(db: D1Database, client: string, key: string, jobId: string): Promise<void> {
  await db.prepare(`DELETE FROM idempotency_keys WHERE client = ? AND key = ? AND job_id = ?`).bind(client, key, jobId).run();
}
