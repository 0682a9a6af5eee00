/**
 * The drill's accounting, pure: from the jobs it submitted, the engine's final view of them (job objects and
 * delivery logs) and what the receivers got, the figures to hold: no job lost, no callback missing or out
 * of order. Callbacks are counted per (job, endpoint): one delivery-log entry each.
 */

export interface TrackedJob {
  id: string;
  shape: string;
  /** Its callback endpoints (full URLs, as in `rest_endpoints`). */
  endpoints: readonly string[];
  /** A rerun replaced it: it ends `broken`, cancelled mid-way. */
  replaced: boolean;
}

/** The parts of `GET /jobs/{id}` the figures use. */
export interface FinalJob {
  queue_state: string;
  failed: boolean;
  tasks: readonly { task_name: string; state: string; attempts: number }[];
}

/** The parts of a `GET /jobs/{id}/callbacks` entry the figures use. */
export interface LogEntry {
  callback_id: string;
  endpoint: string;
  sequence: number;
  state: string;
}

/** One POST a receiver got, in arrival order. */
export interface Arrival {
  /** The endpoint's full URL. */
  endpoint: string;
  webhookId: string;
  /** The status the receiver answered. */
  status: number;
  raw: string;
}

export interface Figures {
  jobsSubmitted: number;
  /** Ended: `completed` or `broken`. */
  jobsEnded: number;
  jobsBroken: number;
  /** Ended with `failed: true`, apart from those a rerun replaced (cancelled, so failed by design). */
  jobsFailed: number;
  /** Never ended, or unknown to the engine (404). */
  jobsLost: number;
  /** Entries of the delivery logs. */
  callbacksExpected: number;
  /** What the jobs' tasks and attempts call for, over the jobs it can be worked out for (ended, not replaced). */
  callbacksByTasks: number;
  jobsCrossChecked: number;
  /** Jobs whose delivery log disagrees with their tasks, or whose sequences have gaps or differ by endpoint. */
  crossCheckMismatches: number;
  /** Entries whose webhook-id the endpoint accepted (2xx) at least once. */
  callbacksDelivered: number;
  /** Accepted arrivals of a webhook-id after its first. */
  callbacksDuplicated: number;
  /** Repeats of a webhook-id whose body differs from its first arrival's. */
  duplicatesWithOtherBody: number;
  /** Per (job, endpoint), first accepted arrivals whose sequence is lower than one accepted before. */
  callbacksOutOfOrder: number;
  /** Entries the endpoint never accepted. */
  callbacksMissing: number;
  /** Entries the delivery log does not show as delivered (failed for good, or still pending at the end). */
  callbacksNotDeliveredInLogs: number;
  /** Arrivals whose webhook-id is in no delivery log, or came to another endpoint than the log's. */
  callbacksUnexpected: number;
  /** Task attempts that timed out (a `fail` callback saying so): work a kill cut short, run again. */
  attemptsTimedOut: number;
  /** What went wrong, for a person to read (the first few of each kind). */
  problems: string[];
}

const MAX_PROBLEMS_PER_KIND = 5;

export function computeFigures(
  jobs: readonly TrackedJob[],
  finals: ReadonlyMap<string, FinalJob | null>,
  logs: ReadonlyMap<string, readonly LogEntry[]>,
  arrivals: readonly Arrival[],
): Figures {
  const problems = new Problems();
  const figures: Figures = {
    jobsSubmitted: jobs.length,
    jobsEnded: 0,
    jobsBroken: 0,
    jobsFailed: 0,
    jobsLost: 0,
    callbacksExpected: 0,
    callbacksByTasks: 0,
    jobsCrossChecked: 0,
    crossCheckMismatches: 0,
    callbacksDelivered: 0,
    callbacksDuplicated: 0,
    duplicatesWithOtherBody: 0,
    callbacksOutOfOrder: 0,
    callbacksMissing: 0,
    callbacksNotDeliveredInLogs: 0,
    callbacksUnexpected: 0,
    attemptsTimedOut: 0,
    problems: problems.lines,
  };

  // Jobs: ended or lost; the delivery log checked against the tasks.
  const entries = new Map<string, LogEntry & { jobId: string }>();
  for (const job of jobs) {
    const final = finals.get(job.id) ?? null;
    const log = logs.get(job.id) ?? [];
    if (final === null || (final.queue_state !== "completed" && final.queue_state !== "broken")) {
      figures.jobsLost++;
      problems.add("lost", `job ${job.id} (${job.shape}) ${final === null ? "is unknown to the engine" : `never ended: ${final.queue_state}`}`);
    } else {
      figures.jobsEnded++;
      if (final.queue_state === "broken") figures.jobsBroken++;
      if (final.failed && !job.replaced) figures.jobsFailed++;
    }
    for (const entry of log) entries.set(entry.callback_id, { ...entry, jobId: job.id });
    figures.callbacksExpected += log.length;
    const mismatch = logMismatch(job, final, log);
    if (mismatch.byTasks !== null) {
      figures.jobsCrossChecked++;
      figures.callbacksByTasks += mismatch.byTasks;
    }
    if (mismatch.problem) {
      figures.crossCheckMismatches++;
      problems.add("cross-check", `job ${job.id} (${job.shape}): ${mismatch.problem}`);
    }
  }

  // Arrivals: per (endpoint, webhook-id), the first accepted one, repeats, and order per (job, endpoint).
  const firstRaw = new Map<string, string>();
  const accepted = new Map<string, number>();
  const highest = new Map<string, number>();
  const timedOutCallbacks = new Set<string>();
  for (const arrival of arrivals) {
    const entry = entries.get(arrival.webhookId);
    if (!entry || entry.endpoint !== arrival.endpoint) {
      figures.callbacksUnexpected++;
      problems.add("unexpected", `${arrival.endpoint} got webhook-id ${arrival.webhookId}, ${entry ? `logged for ${entry.endpoint}` : "in no delivery log"}`);
      continue;
    }
    const key = `${arrival.endpoint} ${arrival.webhookId}`;
    const raw = firstRaw.get(key);
    if (raw === undefined) {
      firstRaw.set(key, arrival.raw);
      if (timedOut(arrival.raw)) timedOutCallbacks.add(`${entry.jobId} ${entry.sequence}`);
    }
    else if (raw !== arrival.raw) {
      figures.duplicatesWithOtherBody++;
      problems.add("other body", `${key}: a repeat with another body`);
    }
    if (arrival.status < 200 || arrival.status >= 300) continue;
    const times = (accepted.get(key) ?? 0) + 1;
    accepted.set(key, times);
    if (times > 1) {
      figures.callbacksDuplicated++;
      continue;
    }
    const line = `${entry.jobId} ${arrival.endpoint}`;
    const before = highest.get(line) ?? 0;
    if (entry.sequence < before) {
      figures.callbacksOutOfOrder++;
      problems.add("out of order", `job ${entry.jobId} at ${arrival.endpoint}: sequence ${entry.sequence} first arrived after ${before}`);
    } else highest.set(line, entry.sequence);
  }

  figures.attemptsTimedOut = timedOutCallbacks.size;

  for (const entry of entries.values()) {
    if (accepted.has(`${entry.endpoint} ${entry.callback_id}`)) figures.callbacksDelivered++;
    else {
      figures.callbacksMissing++;
      problems.add("missing", `job ${entry.jobId}: sequence ${entry.sequence} never accepted at ${entry.endpoint} (log: ${entry.state})`);
    }
    if (entry.state !== "delivered") {
      figures.callbacksNotDeliveredInLogs++;
      problems.add("not delivered", `job ${entry.jobId}: sequence ${entry.sequence} at ${entry.endpoint} is ${entry.state} in the delivery log`);
    }
  }
  return figures;
}

/**
 * Checks one job's delivery log: every endpoint of the job, each with sequences 1..N without a gap, the same
 * N everywhere; for an ended job that no rerun replaced, N is what its tasks call for: a start and an end
 * (complete or fail) per attempt of each task that ran, plus the job callback.
 */
function logMismatch(job: TrackedJob, final: FinalJob | null, log: readonly LogEntry[]): { byTasks: number | null; problem: string | null } {
  let byTasks: number | null = null;
  let perEndpoint: number | null = null;
  if (final && final.queue_state === "completed" && !job.replaced) {
    perEndpoint = 1 + final.tasks.reduce((sum, task) => sum + (task.state === "completed" || task.state === "failed" ? 2 * task.attempts : 0), 0);
    byTasks = perEndpoint * job.endpoints.length;
  }
  const ended = final?.queue_state === "completed" || final?.queue_state === "broken";
  if (!ended) return { byTasks, problem: null };
  const counts: number[] = [];
  for (const endpoint of job.endpoints) {
    const sequences = log.filter((entry) => entry.endpoint === endpoint).map((entry) => entry.sequence).sort((a, b) => a - b);
    if (sequences.some((sequence, i) => sequence !== i + 1)) return { byTasks, problem: `sequences at ${endpoint} are ${sequences.join(",")}, not 1..${sequences.length}` };
    counts.push(sequences.length);
  }
  if (log.some((entry) => !job.endpoints.includes(entry.endpoint))) return { byTasks, problem: "the log names an endpoint the job does not have" };
  if (new Set(counts).size > 1) return { byTasks, problem: `endpoints got different numbers of callbacks: ${counts.join(", ")}` };
  if (counts[0] === 0) return { byTasks, problem: "no callback at all" };
  if (perEndpoint !== null && counts[0] !== perEndpoint) {
    const tasks = final!.tasks.map((task) => `${task.task_name}:${task.state}×${task.attempts}`).join(" ");
    return { byTasks, problem: `${counts[0]} callbacks per endpoint, its tasks call for ${perEndpoint} (${tasks})` };
  }
  return { byTasks, problem: null };
}

/** Whether a callback body is a task `fail` for an attempt that timed out. */
function timedOut(raw: string): boolean {
  try {
    const body = JSON.parse(raw) as { event?: unknown; message?: unknown };
    return body.event === "fail" && typeof body.message === "string" && body.message.includes("timed out");
  } catch {
    return false;
  }
}

/** Problem lines, at most a few per kind, with a count of the rest. */
class Problems {
  readonly lines: string[] = [];
  private readonly perKind = new Map<string, number>();

  add(kind: string, text: string): void {
    const count = (this.perKind.get(kind) ?? 0) + 1;
    this.perKind.set(kind, count);
    if (count <= MAX_PROBLEMS_PER_KIND) this.lines.push(`${kind}: ${text}`);
    else if (count === MAX_PROBLEMS_PER_KIND + 1) this.lines.push(`${kind}: (more not shown)`);
  }
}
