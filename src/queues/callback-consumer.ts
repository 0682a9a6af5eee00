import type { AttemptRecord } from "../db/projection";
import { errorMessage } from "../executors/errors";
import { deliverCallback, type DeliveryDeps } from "./deliver";
import type { CallbackMessage } from "./messages";

/** How many follow-on callbacks of one endpoint a message may deliver without going back through the queue. */
const MAX_INLINE_DELIVERIES = 100;

export interface CallbackCoordinator {
  recordDelivery(id: string, attempt: number, record: AttemptRecord, takeNext: boolean): Promise<CallbackMessage | null>;
}

export interface CallbackConsumerDeps extends DeliveryDeps {
  coordinator: (jobId: string) => CallbackCoordinator;
}

/**
 * Callbacks queue consumer: delivers one callback to one endpoint, reports the attempt to the job's
 * coordinator (which records it and schedules any retry), then delivers the next callback of that
 * endpoint if the coordinator hands one back. Each message is acked or retried on its own.
 */
export async function consumeCallbacks(batch: MessageBatch<CallbackMessage>, deps: CallbackConsumerDeps): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        let delivery: CallbackMessage | null = message.body;
        for (let sent = 1; delivery; sent++) {
          const record = await deliverCallback(delivery, deps);
          delivery = await deps
            .coordinator(delivery.jobId)
            .recordDelivery(delivery.id, delivery.attempt, record, sent < MAX_INLINE_DELIVERIES);
        }
        message.ack();
      } catch (error) {
        // The coordinator could not be told: try again (receivers dedupe on webhook-id).
        console.error(JSON.stringify({ level: "error", message: "callback report failed", job_id: message.body.jobId, callback_id: message.body.id, error: errorMessage(error) }));
        message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
      }
    }),
  );
}
