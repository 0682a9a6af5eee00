/**
 * The D1 databases that hold the job index (ARCHITECTURE.md, "Capacity"): shard 0 is `DB`, the control
 * plane's own database; shard n ≥ 1 is the D1 binding `JOB_INDEX_<n>`, added by the operator when one
 * database's writes no longer suffice. A client's shard is fixed in the control plane when the client is
 * created (`clients.index_shard`), so its listing is always one indexed query on one database.
 */

/** The most shards an engine may bind. */
export const MAX_SHARDS = 16;

function bindingOf(env: Env, shard: number): D1Database | undefined {
  if (shard === 0) return env.DB;
  return (env as unknown as Record<string, D1Database | undefined>)[`JOB_INDEX_${shard}`];
}

/** The shard's database; an error when this deployment does not bind it (a misconfiguration, not bad input). */
export function indexDatabase(env: Env, shard: number): D1Database {
  const db = bindingOf(env, shard);
  if (!db) throw new Error(`job index shard ${shard} is not bound (expected a D1 binding JOB_INDEX_${shard})`);
  return db;
}

/** The shards this deployment binds: 0, then 1, 2… while their bindings exist. */
export function boundShards(env: Env): number[] {
  const shards = [0];
  while (shards.length < MAX_SHARDS && bindingOf(env, shards.length)) shards.push(shards.length);
  return shards;
}

/** The shard new clients get unless the operator names one: `NEW_CLIENT_INDEX_SHARD`, else 0. */
export function defaultShard(env: Env): number {
  const configured = Number((env as unknown as Record<string, unknown>).NEW_CLIENT_INDEX_SHARD ?? 0);
  return Number.isInteger(configured) && boundShards(env).includes(configured) ? configured : 0;
}
