import { errorMessage } from "../domain/errors";

/**
 * Dead-letter consumer: records every message that exhausted its retries, with the client it belongs to
 * (a callback message names it, a task message's job does); nothing is dropped silently.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, db: D1Database): Promise<void> {
  const now = new Date().toISOString();
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        const body = message.body as { client?: unknown; jobId?: unknown } | null;
        const client = typeof body?.client === "string" ? body.client : null;
        const jobId = typeof body?.jobId === "string" ? body.jobId : null;
        await db
          .prepare(
            `INSERT OR IGNORE INTO dead_letters (id, queue, body, attempts, created_at, client)
             VALUES (?, ?, ?, ?, ?, COALESCE(?, (SELECT client FROM jobs WHERE id = ?)))`,
          )
          .bind(message.id, batch.queue, JSON.stringify(message.body), message.attempts, now, client, jobId)
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
