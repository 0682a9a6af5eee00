/** Bodies of the queue messages. Queues are a transport: the coordinator holds the only copy of the work. */

/** Run attempt `attempt` of task `task` of job `jobId`. */
export interface TaskMessage {
  jobId: string;
  task: string;
  attempt: number;
}

/** One callback attempt of a run. */
export interface RunDelivery {
  /** The callback id, also its `webhook-id`. */
  id: string;
  attempt: number;
  /**
   * The JSON body, exactly as it is signed and sent; null when the run's bodies would not fit one queue
   * message (limit 128 KB): the consumer asks the coordinator for it.
   */
  body: string | null;
  /** The body was cut down to the size limit: the delivery adds `task-engine-truncated: true`. */
  truncated?: boolean;
}

/**
 * Deliver these callbacks of job `jobId` to `endpoint`, in order, one after the other: one run of the
 * endpoint's line (outbox.ts), started together under one lease. The first that fails ends the run; the
 * rest are handed back unattempted.
 */
export interface CallbackMessage {
  jobId: string;
  client: string;
  endpoint: string;
  deliveries: RunDelivery[];
}

/** A callback attempt ready to POST: its body at hand. */
export interface Deliverable {
  jobId: string;
  client: string;
  id: string;
  attempt: number;
  endpoint: string;
  body: string;
  truncated?: boolean;
}

/** Body characters a run's message carries at most (UTF-16 code units, at most 3 bytes each: within 128 KB). */
export const MAX_INLINE_BODY_CHARS = 32_000;

/** The message of a run (a message of the earlier one-callback shape is read as a run of one). */
export function callbackRun(body: unknown): CallbackMessage | null {
  const message = body as Partial<CallbackMessage & RunDelivery> | null;
  if (typeof message?.jobId !== "string" || typeof message.client !== "string" || typeof message.endpoint !== "string") return null;
  const deliveries = Array.isArray(message.deliveries)
    ? message.deliveries
    : [{ id: message.id, attempt: message.attempt, body: message.body ?? null, ...(message.truncated ? { truncated: true } : {}) }];
  const valid = deliveries.length > 0 && deliveries.every((delivery) => typeof delivery?.id === "string" && Number.isInteger(delivery.attempt));
  return valid ? { jobId: message.jobId, client: message.client, endpoint: message.endpoint, deliveries: deliveries as RunDelivery[] } : null;
}
