/**
 * Admission control of one client (the reference system's max_jobs / priority_slots / priority_threshold):
 * which waiting jobs may start now, and each waiting job's place in the queue. Pure.
 */

export interface AdmissionLimits {
  /** Jobs that may be started at once. */
  maxJobs: number;
  /** Of those, slots only jobs with priority ≤ threshold may use. */
  prioritySlots: number;
  /** The worst priority (1 best … 10) that may use a reserved slot. */
  priorityThreshold: number;
}

export interface QueuedJob {
  jobId: string;
  priority: number;
  /** Submission time (ms); earlier first within one priority. */
  submittedAt: number;
}

/** Queue order: priority first (1 highest), then submission time, then id for a total order. */
export function compareQueued(a: QueuedJob, b: QueuedJob): number {
  return a.priority - b.priority || a.submittedAt - b.submittedAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

/**
 * The queued jobs to start now, in start order, given how many jobs hold a slot. A job above the threshold
 * may only take one of the `maxJobs − prioritySlots` general slots; a job at or under it may take any slot.
 */
export function jobsToStart(queued: QueuedJob[], started: number, limits: AdmissionLimits): QueuedJob[] {
  const reserved = Math.min(limits.prioritySlots, limits.maxJobs);
  const generalLimit = limits.maxJobs - reserved;
  const chosen: QueuedJob[] = [];
  let running = started;
  for (const job of [...queued].sort(compareQueued)) {
    if (running >= limits.maxJobs) break;
    const mayUseReserved = job.priority <= limits.priorityThreshold;
    if (!mayUseReserved && running >= generalLimit) continue;
    chosen.push(job);
    running++;
  }
  return chosen;
}

/** 1-based places in the queue by job id. */
export function queuePositions(queued: QueuedJob[]): Map<string, number> {
  return new Map([...queued].sort(compareQueued).map((job, index) => [job.jobId, index + 1]));
}
