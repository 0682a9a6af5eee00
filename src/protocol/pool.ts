/** What the coordinators, the worker API and a WorkerPool say to each other (workers.md). Plain data. */

/** A task offered to a worker pool: enough to hand it out in order, to the right workers, and to claim it. */
export interface PoolOffer {
  jobId: string;
  task: string;
  attempt: number;
  client: string;
  /** The job's priority: higher first. */
  priority: number;
  /** The job's submission time: older first within a priority. */
  submittedAt: number;
  /** Set by the pool on an offer it hands out: the end of its hold, which names this handout to `settle`. */
  handedUntil?: number;
}

/** A worker's long poll for work, as the worker API hands it to the pool. */
export interface LeaseAsk {
  workerId: string;
  /** The worker's host label, for operators. */
  label: string;
  /** The pool token it authenticated with. */
  tokenId: string;
  /** A client-scoped token sees only that client's tasks. */
  client: string | null;
  max: number;
  waitMs: number;
  /** Leases the worker says it holds (for the operator's view). */
  holding: number;
  /** Names this poll, so that the worker API can end it when its worker goes away (`abandon`). */
  pollId?: string;
}

export interface PoolWorker {
  worker_id: string;
  label: string;
  token_id: string;
  last_seen: string;
  leases_held: number;
  leases_taken: number;
}

export interface PoolStatus {
  workers: PoolWorker[];
  waiting: { job_id: string; task: string; attempt: number; client: string; priority: number; offered_at: string }[];
}
