import type { AttemptRecord } from "../db/projection";
import { errorMessage } from "../domain/errors";
import { deliverCallback, type DeliveryDeps } from "./deliver";
import type { CallbackMessage } from "./messages";

/** How many follow-on callbacks of one endpoint a message may deliver without going back through the queue. */
const MAX_INLINE_DELIVERIES = 100;

/**
 * How long a batch may wait for its slowest endpoint. A queue hands out its next batch only when this
 * one ends, so an endpoint that hangs until the attempt timeout would otherwise hold back every callback
 * queued behind it, of every endpoint and every job.
 */
const BATCH_BUDGET_MS = 1_000;

/** Follow-on callbacks are taken inline only this long, so a handed-off series stays within waitUntil's limits. */
const INLINE_BUDGET_MS = 10_000;

export interface CallbackCoordinator {
  recordDelivery(id: string, attempt: number, record: AttemptRecord, takeNext: boolean): Promise<CallbackMessage | null>;
  callbackBody(id: string): Promise<string | null>;
}

export interface CallbackConsumerDeps extends DeliveryDeps {
  coordinator: (jobId: string) => CallbackCoordinator;
  /** Keeps a delivery running after the batch has ended (the invocation's `ctx.waitUntil`). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * Callbacks queue consumer: delivers one callback to one endpoint, reports the attempt to the job's
 * coordinator (which records it and schedules any retry), then delivers the next callback of that
 * endpoint if the coordinator hands one back. Each message is acked or retried on its own.
 *
 * Deliveries still running when the batch budget runs out are handed to `waitUntil` and their messages
 * acked: the coordinator leased each callback it sent, so one whose report never arrives is sent again
 * by its alarm. Nothing is lost; the batch just stops waiting.
 */
export async function consumeCallbacks(batch: MessageBatch<CallbackMessage>, deps: CallbackConsumerDeps): Promise<void> {
  // Messages this invocation still has to ack or retry; a handed-off message leaves the set, acked.
  const unsettled = new Set(batch.messages);
  const series = batch.messages.map(async (message) => {
    let reported = true;
    try {
      await deliverInOrder(message.body, deps);
    } catch (error) {
      // The coordinator could not be told: try again (receivers dedupe on webhook-id), or, once the
      // message is handed off, leave it to the coordinator's lease.
      const body = message.body as Partial<CallbackMessage> | null;
      console.error(JSON.stringify({ level: "error", message: "callback report failed", job_id: body?.jobId, callback_id: body?.id, error: errorMessage(error) }));
      reported = false;
    }
    if (!unsettled.delete(message)) return;
    if (reported) message.ack();
    else message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
  });
  const all = Promise.all(series);
  if (!deps.waitUntil) return void (await all);

  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, BATCH_BUDGET_MS)))]);
  clearTimeout(timer);
  if (unsettled.size === 0) return;
  const handedOff = [...unsettled];
  unsettled.clear();
  for (const message of handedOff) message.ack();
  deps.waitUntil(all);
}

/** Delivers a callback, then each follow-on callback of the same endpoint the coordinator hands back. */
async function deliverInOrder(first: CallbackMessage, deps: CallbackConsumerDeps): Promise<void> {
  // A malformed body is retried like any failure, on its own, and ends in the dead-letter queue.
  if (typeof first?.jobId !== "string" || typeof first.id !== "string" || typeof first.endpoint !== "string" || !Number.isInteger(first.attempt)) {
    throw new Error("malformed callback message");
  }
  const startedAt = Date.now();
  let delivery: CallbackMessage | null = first;
  for (let sent = 1; delivery; sent++) {
    const coordinator = deps.coordinator(delivery.jobId);
    // A body too large for a queue message stays with the coordinator (null: the job was purged).
    const body = delivery.body ?? (await coordinator.callbackBody(delivery.id));
    if (body === null) return;
    const record = await deliverCallback({ ...delivery, body }, deps);
    if (record.error !== null) logFailedAttempt(delivery, record);
    const takeNext = sent < MAX_INLINE_DELIVERIES && Date.now() - startedAt < INLINE_BUDGET_MS;
    delivery = await coordinator.recordDelivery(delivery.id, delivery.attempt, record, takeNext);
  }
}

/** One line per failed attempt, for operators; the endpoint without its query (it may carry a token). */
function logFailedAttempt(delivery: CallbackMessage, record: AttemptRecord): void {
  const url = new URL(delivery.endpoint);
  console.warn(
    JSON.stringify({
      level: "warn",
      message: "callback attempt failed",
      job_id: delivery.jobId,
      callback_id: delivery.id,
      attempt: delivery.attempt,
      endpoint: `${url.origin}${url.pathname}`,
      status: record.status,
      error: record.error,
    }),
  );
}
