/** Clients, API keys and settings in D1. */

export async function activeKeyHashes(db: D1Database, client: string): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT key_hash FROM api_keys WHERE client = ? AND revoked_at IS NULL`)
    .bind(client)
    .all<{ key_hash: string }>();
  return results.map((row) => row.key_hash);
}

export async function storedSettings(db: D1Database, client: string): Promise<{ name: string; value: string }[]> {
  const { results } = await db
    .prepare(`SELECT name, value FROM settings WHERE client = ?`)
    .bind(client)
    .all<{ name: string; value: string }>();
  return results;
}

export async function putSetting(db: D1Database, client: string, name: string, value: string, now: string): Promise<void> {
  await db
    .prepare(
      `INSERT INTO settings (client, name, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (client, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    )
    .bind(client, name, value, now)
    .run();
}
