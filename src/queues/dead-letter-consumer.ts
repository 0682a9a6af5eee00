import { errorMessage } from "../domain/errors";

/**
 * Dead-letter consumer: records every message that exhausted its retries, with the client it belongs to
 * (a callback message names it; a task message's job does, through its row in the job index, looked up on
 * every shard: `indexes`, the main database first); nothing is dropped silently.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, db: D1Database, indexes: D1Database[] = [db]): Promise<void> {
  const now = new Date().toISOString();
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        const body = message.body as { client?: unknown; jobId?: unknown } | null;
        const jobId = typeof body?.jobId === "string" ? body.jobId : null;
        const client = typeof body?.client === "string" ? body.client : jobId === null ? null : await clientOfJob(indexes, jobId);
        await db
          .prepare(`INSERT OR IGNORE INTO dead_letters (id, queue, body, attempts, created_at, client) VALUES (?, ?, ?, ?, ?, ?)`)
          .bind(message.id, batch.queue, JSON.stringify(message.body), message.attempts, now, client)
          .run();
        console.error(JSON.stringify({ level: "error", message: "dead-lettered", queue: batch.queue, message_id: message.id }));
        message.ack();
      } catch (error) {
        console.error(JSON.stringify({ level: "error", message: "could not record dead letter", queue: batch.queue, error: errorMessage(error) }));
        message.retry();
      }
    }),
  );
}

/** The client of a job, from its row on whichever index shard holds it; null for a job no shard knows. */
async function clientOfJob(indexes: D1Database[], jobId: string): Promise<string | null> {
  for (const index of indexes) {
    const row = await index.prepare(`SELECT client FROM jobs WHERE id = ?`).bind(jobId).first<{ client: string }>();
    if (row) return row.client;
  }
  return null;
}
