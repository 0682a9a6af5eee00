/** Clients, API keys and settings in D1. */

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

export async function clientExists(db: D1Database, name: string): Promise<boolean> {
  return (await db.prepare(`SELECT 1 AS found FROM clients WHERE name = ?`).bind(name).first()) !== null;
}

/** Creates a client with its first key; false when the name is taken. */
export async function insertClient(
  db: D1Database,
  client: { name: string; keyId: string; keyHash: string; config: string; indexShard: number },
  now: string,
): Promise<boolean> {
  const { name, keyId, keyHash, config, indexShard } = client;
  try {
    await db.batch([
      db.prepare(`INSERT INTO clients (name, config, created_at, index_shard) VALUES (?, ?, ?, ?)`).bind(name, config, now, indexShard),
      db.prepare(`INSERT INTO api_keys (id, client, key_hash, label, created_at) VALUES (?, ?, ?, 'initial', ?)`).bind(keyId, name, keyHash, now),
    ]);
    return true;
  } catch (error) {
    if (error instanceof Error && /UNIQUE constraint failed: clients\.name/.test(error.message)) return false;
    throw error;
  }
}

export async function insertKey(db: D1Database, client: string, keyId: string, keyHash: string, label: string | null, now: string): Promise<void> {
  await db
    .prepare(`INSERT INTO api_keys (id, client, key_hash, label, created_at) VALUES (?, ?, ?, ?, ?)`)
    .bind(keyId, client, keyHash, label, now)
    .run();
}

/** Revokes a key at once; false when the client has no such active key. */
export async function revokeKey(db: D1Database, client: string, keyId: string, now: string): Promise<boolean> {
  const result = await db
    .prepare(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND client = ? AND revoked_at IS NULL`)
    .bind(now, keyId, client)
    .run();
  return result.meta.changes === 1;
}

export async function clientConfigText(db: D1Database, name: string): Promise<string | null> {
  const row = await db.prepare(`SELECT config FROM clients WHERE name = ?`).bind(name).first<{ config: string }>();
  return row?.config ?? null;
}

/** Every other client's configuration text (the operator's storage check compares roots across clients). */
export async function otherClientConfigs(db: D1Database, name: string): Promise<{ name: string; config: string }[]> {
  const { results } = await db.prepare(`SELECT name, config FROM clients WHERE name != ?`).bind(name).all<{ name: string; config: string }>();
  return results;
}

export async function putClientConfigText(db: D1Database, name: string, config: string): Promise<boolean> {
  const result = await db.prepare(`UPDATE clients SET config = ? WHERE name = ?`).bind(config, name).run();
  return result.meta.changes === 1;
}

/** A client as requests need it: its active key digests, stored settings, configuration and switched-off schedules. */
export interface ClientSnapshot {
  keyDigests: string[];
  settings: { name: string; value: string }[];
  config: string | null;
  inactiveSchedules: string[];
  /** The D1 shard holding the client's job index (db/index-shards.ts). */
  indexShard: number;
  /** When the client's settings or schedules last changed (their newest `updated_at`; "" if never). */
  configVersion: string;
}

/** The client's snapshot, in one D1 batch (src/api/client-cache.ts keeps it for a few seconds). */
export async function clientSnapshot(db: D1Database, client: string): Promise<ClientSnapshot> {
  const [keys, settings, config, schedules, version] = await db.batch([
    db.prepare(`SELECT key_hash FROM api_keys WHERE client = ? AND revoked_at IS NULL`).bind(client),
    db.prepare(`SELECT name, value FROM settings WHERE client = ?`).bind(client),
    db.prepare(`SELECT config, index_shard FROM clients WHERE name = ?`).bind(client),
    db.prepare(`SELECT name FROM schedules WHERE client = ? AND active = 0`).bind(client),
    db
      .prepare(`SELECT MAX(updated_at) AS version FROM (SELECT updated_at FROM settings WHERE client = ?1 UNION ALL SELECT updated_at FROM schedules WHERE client = ?1)`)
      .bind(client),
  ]);
  return {
    keyDigests: ((keys?.results ?? []) as { key_hash: string }[]).map((row) => row.key_hash),
    settings: (settings?.results ?? []) as { name: string; value: string }[],
    config: ((config?.results ?? [])[0] as { config: string } | undefined)?.config ?? null,
    inactiveSchedules: ((schedules?.results ?? []) as { name: string }[]).map((row) => row.name),
    indexShard: ((config?.results ?? [])[0] as { index_shard: number } | undefined)?.index_shard ?? 0,
    configVersion: ((version?.results ?? [])[0] as { version: string | null } | undefined)?.version ?? "",
  };
}

export interface KeyRow {
  key_id: string;
  label: string | null;
  created_at: string;
  revoked_at: string | null;
}

export async function clientKeys(db: D1Database, client: string): Promise<KeyRow[]> {
  const { results } = await db
    .prepare(`SELECT id AS key_id, label, created_at, revoked_at FROM api_keys WHERE client = ? ORDER BY created_at`)
    .bind(client)
    .all<KeyRow>();
  return results;
}

export async function putSchedule(db: D1Database, client: string, name: string, active: boolean, now: string): Promise<void> {
  await db
    .prepare(
      `INSERT INTO schedules (client, name, active, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (client, name) DO UPDATE SET active = excluded.active, updated_at = excluded.updated_at`,
    )
    .bind(client, name, active ? 1 : 0, now)
    .run();
}
