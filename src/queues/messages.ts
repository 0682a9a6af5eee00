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
  /** The JSON body, exactly as it is signed and sent. */
  body: string;
}
