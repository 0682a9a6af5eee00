/** Worker pool tokens in D1 (migrations/0007_worker_tokens.sql). */

export interface WorkerToken {
  tokenId: string;
  pool: string;
  label: string;
  client: string | null;
  tokenHash: string;
  createdAt: string;
  revokedAt: string | null;
}

interface Row {
  token_id: string;
  pool: string;
  label: string;
  client: string | null;
  token_hash: string;
  created_at: string;
  revoked_at: string | null;
}

const fromRow = (row: Row): WorkerToken => ({
  tokenId: row.token_id,
  pool: row.pool,
  label: row.label,
  client: row.client,
  tokenHash: row.token_hash,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export async function insertWorkerToken(db: D1Database, token: Omit<WorkerToken, "revokedAt">): Promise<void> {
  await db
    .prepare(`INSERT INTO worker_tokens (token_id, pool, label, client, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
    .bind(token.tokenId, token.pool, token.label, token.client, token.tokenHash, token.createdAt)
    .run();
}

/** An active (unrevoked) token by id, or null. */
export async function activeWorkerToken(db: D1Database, tokenId: string): Promise<WorkerToken | null> {
  const row = await db.prepare(`SELECT * FROM worker_tokens WHERE token_id = ? AND revoked_at IS NULL`).bind(tokenId).first<Row>();
  return row ? fromRow(row) : null;
}

/** Revokes a pool's active token; false when there is none by that id. */
export async function revokeWorkerToken(db: D1Database, pool: string, tokenId: string, now: string): Promise<boolean> {
  const result = await db.prepare(`UPDATE worker_tokens SET revoked_at = ? WHERE token_id = ? AND pool = ? AND revoked_at IS NULL`).bind(now, tokenId, pool).run();
  return result.meta.changes > 0;
}

/** A pool's tokens (never their digests), newest first. */
export async function poolTokens(db: D1Database, pool: string): Promise<Omit<WorkerToken, "tokenHash">[]> {
  const { results } = await db.prepare(`SELECT * FROM worker_tokens WHERE pool = ? ORDER BY created_at DESC LIMIT 1000`).bind(pool).all<Row>();
  return results.map((row) => {
    const { tokenHash: _hash, ...token } = fromRow(row);
    return token;
  });
}

/** Whether some active token of `pool` may lease `client`'s tasks (an unscoped one, or one scoped to the client). */
export async function poolServes(db: D1Database, pool: string, client: string): Promise<boolean> {
  const row = await db.prepare(`SELECT 1 AS found FROM worker_tokens WHERE pool = ? AND revoked_at IS NULL AND (client IS NULL OR client = ?) LIMIT 1`).bind(pool, client).first();
  return row !== null;
}
