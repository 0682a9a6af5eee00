import { coordinatorFor } from "./coordinator/stub";
import { storedSettings } from "./db/clients";
import { indexDatabase } from "./db/index-shards";
import { resolveSettings } from "./domain/settings";
import { errorMessage } from "./domain/errors";
import { workFolder } from "./storage/work-folder";
import { findWorkflow } from "./workflows/registry";

/** Jobs deleted per client per cron run at most, to keep one run short. */
const RETENTION_BATCH = 200;
const DAY_MS = 86_400_000;

/** The engine's recurring work, run by the cron trigger. */
export async function runSchedules(env: Env, now: number): Promise<void> {
  await retentionCleanup(env, now);
}

/**
 * Deletes ended jobs older than the client's `retention_days` (default 30) with their tasks, logs and
 * delivery log, their coordinator's storage and (media jobs) their work folder, unless the job has `persist` set or its coordinator
 * refuses the purge (callbacks not yet delivered or failed).
 */
export async function retentionCleanup(env: Env, now: number): Promise<number> {
  // Clients that switched retention_cleanup off (PUT /scheduler) keep everything.
  const { results: clients } = await env.DB.prepare(
    `SELECT name, index_shard FROM clients WHERE name NOT IN (SELECT client FROM schedules WHERE name = 'retention_cleanup' AND active = 0)`,
  ).all<{ name: string; index_shard: number }>();
  let deleted = 0;
  for (const { name, index_shard } of clients) {
    const settings = resolveSettings(await storedSettings(env.DB, name));
    const cutoff = new Date(now - settings.retention_days * DAY_MS).toISOString();
    let index: D1Database;
    try {
      index = indexDatabase(env, index_shard);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", message: "retention cleanup skipped a client", client: name, error: errorMessage(error) }));
      continue;
    }
    const { results: jobs } = await index.prepare(
      `SELECT id, workflow FROM jobs WHERE client = ? AND queue_state IN ('completed', 'broken') AND created_at < ? AND persist = 0
       ORDER BY created_at LIMIT ?`,
    )
      .bind(name, cutoff, RETENTION_BATCH)
      .all<{ id: string; workflow: string }>();
    for (const { id, workflow } of jobs) {
      try {
        // The coordinator keeps a job it still owes callbacks to (or one that runs again after a retry):
        // its index row stays too, for a later run. Rows a job made before the coordinator became its only
        // store (tasks, logs, callbacks) go with it.
        const { purged } = await coordinatorFor(env.JOB_COORDINATOR, id).purge();
        if (!purged) continue;
        await env.DB.batch(["callback_attempts", "callbacks", "logs", "tasks"].map((table) => env.DB.prepare(`DELETE FROM ${table} WHERE job_id = ?`).bind(id)));
        // What a media job's worker left and no publish took (a job that failed first).
        if (findWorkflow(workflow)?.usesWorkFolder) await workFolder(env.MEDIA, id).clear();
        await index.prepare(`DELETE FROM jobs WHERE id = ?`).bind(id).run();
        deleted++;
      } catch (error) {
        console.error(JSON.stringify({ level: "error", message: "retention cleanup failed", job_id: id, client: name, error: errorMessage(error) }));
      }
    }
  }
  return deleted;
}
