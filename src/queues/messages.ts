/** Bodies of the queue messages. Queues are a transport: the coordinator holds the only copy of the work. */

/** Run attempt `attempt` of task `task` of job `jobId`. */
export interface TaskMessage {
  jobId: string;
  task: string;
  attempt: number;
}

/** Deliver attempt `attempt` of callback `id` (of job `jobId`) to `endpoint`. */
export interface CallbackMessage {
  jobId: string;
  client: string;
  id: string;
  attempt: number;
  endpoint: string;
  /**
   * The JSON body, exactly as it is signed and sent; null when it is too large for a queue message
   * (limit 128 KB), and the consumer asks the coordinator for it.
   */
  body: string | null;
  /** The body was cut down to the size limit: the delivery adds `task-engine-truncated: true`. */
  truncated?: boolean;
}

/** A callback attempt ready to POST: its body at hand. */
export type Deliverable = CallbackMessage & { body: string };

/** Bodies up to this many UTF-16 code units travel in the message (at most 3 bytes each: within 128 KB). */
export const MAX_INLINE_BODY_CHARS = 32_000;
