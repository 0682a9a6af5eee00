import type { Effect, JobEvent } from "../domain/job-events";
import type { JobMeta } from "../domain/job-management";
import type { JobState } from "../domain/job-state";
import type { AttemptRecord, DeliveryRecord, OutboxChange, OutboxEntry, Send } from "../domain/outbox";
import { transition } from "../domain/transition";
import { changedPages, HEAD_BODIES_BUDGET, HEAD_BODY_CHARS, pageTasks, sealChunks, type LogLine } from "./job-document";
import { headDocument, type JobModel } from "./job-model";
import type { JobWrites, NewCallback } from "./job-store";
import { callbacksFor } from "./notices";

/**
 * What one change of a job does, worked out without touching storage or the network: it applies the
 * reducer's events, the meta change and the outbox operations to the job model, and returns the rows to
 * store (in one transaction, before anything else) and the effects to start once they are stored. The
 * coordinator (job-coordinator.ts) is only the adapter that stores and performs what this returns.
 */

export interface ChangeInput {
  events?: JobEvent[];
  /** The job's new meta (admission state, PATCH). */
  meta?: JobMeta;
  /** Delivery attempts reported by a callbacks consumer; the first report of an attempt is the one kept. */
  reports?: { id: string; attempt: number; record: AttemptRecord }[];
  /** Attempts of a run handed back unattempted (an earlier callback of the run failed). */
  releases?: { id: string; attempt: number }[];
  /** The watchdog's look at the outbox: lost attempts and due retries. */
  tickOutbox?: boolean;
  /** Starts a new attempt series of this delivered or failed callback. */
  redeliver?: string;
}

export interface ChangeOutcome {
  /** The reducer accepted the events (the job's state changed). */
  applied: boolean;
  /** Why the reducer refused an event, when it did. */
  reason: string;
  /** The rows to store; null when nothing changed. */
  writes: JobWrites | null;
  /** Task attempts to put on the tasks queue. */
  dispatches: { task: string; attempt: number }[];
  /** Callback attempts to start. */
  sends: Send[];
  /** A task claimed for the reporter of a `complete` with `takeNext`. */
  handoff: string | null;
  /** The redelivery asked for was started (false: that callback is still being delivered, or unknown). */
  redelivered: boolean;
  /** A job-level field the D1 job index shows changed: the index row is due. */
  indexChanged: boolean;
  /** The job has ended and every callback settled: its cost is final, to be logged once. */
  reportCost: boolean;
  /** The job completed in this change (a media job's work folder may go). */
  completed: boolean;
}

/** Applies a change to `job` (in place) and says what to store and start. */
export function applyChange(job: JobModel, input: ChangeInput, now: number): ChangeOutcome {
  const before = job.state;
  let state = before;
  let reason = "";
  const effects: Effect[] = [];
  for (const event of input.events ?? []) {
    const result = transition(state, event, now);
    if (result.applied) {
      state = result.state;
      effects.push(...result.effects);
    } else {
      reason = result.reason ?? "ignored";
    }
  }
  let meta = input.meta ?? job.meta;
  if (effects.some((effect) => effect.type === "ended")) {
    meta = { ...meta, queueState: meta.queueState === "broken" ? "broken" : "completed", syncPending: true };
  }

  // Callbacks the reducer's notices make, with the body each endpoint gets; then the outbox's own operations.
  const made: { entry: OutboxEntry; body: string }[] = [];
  for (const effect of effects) if (effect.type === "notify") made.push(...callbacksFor(effect.notice, job.spec, state, job.workflow, job.definitions));
  const changes: OutboxChange[] = [job.outbox.enqueue(made.map((callback) => callback.entry), now)];
  const reported = new Map<string, AttemptRecord & { attempt: number }>();
  for (const report of input.reports ?? []) {
    const change = job.outbox.recordAttempt(report.id, report.attempt, report.record, now);
    if (change.changed.length > 0) reported.set(report.id, { ...report.record, attempt: report.attempt });
    changes.push(change);
  }
  for (const release of input.releases ?? []) changes.push(job.outbox.release(release.id, release.attempt, now));
  if (input.tickOutbox) changes.push(job.outbox.tick(now));
  let redelivered = false;
  if (input.redeliver !== undefined) {
    const change = job.outbox.redeliver(input.redeliver, now);
    redelivered = change !== null;
    if (change) changes.push(change);
  }
  const changedEntries = latestEntries(changes.flatMap((change) => change.changed));
  const sends = changes.flatMap((change) => change.sends);

  if (state === before && meta === job.meta && changedEntries.length === 0) {
    return { applied: false, reason, writes: null, dispatches: [], sends, handoff: null, redelivered, indexChanged: false, reportCost: false, completed: false };
  }

  const indexChanged = indexFields(before, job.meta) !== indexFields(state, meta);
  job.state = state;
  job.meta = meta;
  job.updatedAt = now;
  if (indexChanged) job.indexVersion++;

  // Delivery records: a new callback with a small body joins the head row, body and all; one with a large
  // body gets a row of its own holding it as made (started already, if it heads its line). A record in the
  // head stays there, updated, until it is settled and sealed.
  const bodies = new Map(made.map((callback) => [callback.entry.id, callback.body]));
  const callbacks: NewCallback[] = [];
  for (const entry of changedEntries) {
    const known = job.deliveries.get(entry.id);
    const attempt = reported.get(entry.id);
    const record: DeliveryRecord = known
      ? { entry, createdAt: known.createdAt, updatedAt: now, attempts: attempt ? [...known.attempts, attempt] : known.attempts }
      : { entry, createdAt: now, updatedAt: now, attempts: [] };
    job.deliveries.set(entry.id, record);
    const body = bodies.get(entry.id);
    if (body !== undefined && !fitsInHead(job, body)) callbacks.push({ sequence: entry.sequence, endpointIndex: endpointIndexOf(entry.id), record, body });
    else {
      if (body !== undefined) job.headBodies.set(entry.id, body);
      job.headDeliveries.add(entry.id);
    }
  }

  // The job log: new lines join the head, full chunks of it are sealed.
  for (const effect of effects) {
    if (effect.type !== "log") continue;
    const taskId = effect.task === null ? null : (state.tasks[effect.task]?.id ?? null);
    job.log.push({ seq: effect.seq, taskId, severity: effect.severity, progname: "controller", message: effect.message, time: effect.time });
  }
  const logSeal = sealChunks(job.log);
  const logChunks = logSeal.chunks.map((lines) => ({ number: job.logChunks++, lines }));
  job.log = logSeal.keep;
  const settled = (id: string) => isSettled(job.deliveries.get(id)!);
  const deliverySeal = sealChunks([...job.headDeliveries], settled);
  const deliveryChunks = deliverySeal.chunks.map((ids) => ({ number: job.deliveryChunks++, records: ids.map((id) => job.deliveries.get(id)!), bodies: takeBodies(job, ids) }));
  job.headDeliveries = new Set(deliverySeal.keep);

  const reportCost = !job.costReported && state.outcome !== "running" && job.outbox.settled();
  if (reportCost) job.costReported = true;

  const pages = new Map(changedPages(before, state).map((page) => [page, pageTasks(state, page)]));
  const writes: JobWrites = { document: headDocument(job, pageTasks(state, 0)), pages, callbacks, logChunks, deliveryChunks };
  const dispatches: { task: string; attempt: number }[] = [];
  let handoff: string | null = null;
  for (const effect of effects) {
    if (effect.type === "dispatch") dispatches.push({ task: effect.task, attempt: effect.attempt });
    else if (effect.type === "handoff") handoff = effect.task;
  }
  const completed = effects.some((effect) => effect.type === "ended" && effect.outcome === "completed");
  return { applied: state !== before, reason, writes, dispatches, sends, handoff, redelivered, indexChanged, reportCost, completed };
}

/** The callback's endpoint index, from its id (`cb_<job>_<sequence>_<index>`): two equal URLs are two endpoints. */
export function endpointIndexOf(callbackId: string): number {
  return Number(callbackId.slice(callbackId.lastIndexOf("_") + 1));
}

/** Whether a new callback's body may ride in the head row (small, and the head's bodies stay in budget). */
function fitsInHead(job: JobModel, body: string): boolean {
  if (body.length > HEAD_BODY_CHARS) return false;
  let total = body.length;
  for (const held of job.headBodies.values()) total += held.length;
  return total <= HEAD_BODIES_BUDGET;
}

/** Moves the head's bodies of these callbacks out (into the chunk their records are sealed into). */
function takeBodies(job: JobModel, ids: string[]): Record<string, string> {
  const taken: Record<string, string> = {};
  for (const id of ids) {
    const body = job.headBodies.get(id);
    if (body === undefined) continue;
    taken[id] = body;
    job.headBodies.delete(id);
  }
  return taken;
}

function isSettled(record: DeliveryRecord): boolean {
  return record.entry.state === "delivered" || record.entry.state === "failed";
}

/** The fields of the D1 job index row that follow job-level changes (progress follows with them). */
function indexFields(state: JobState, meta: JobMeta): string {
  return JSON.stringify([meta.queueState, meta.priority, meta.runAt, meta.semaphoreUrl, meta.persist, meta.startedAt, state.outcome, state.endedAt]);
}

/** Keeps the last version of each entry, in first-seen order. */
function latestEntries(entries: OutboxEntry[]): OutboxEntry[] {
  const latest = new Map<string, OutboxEntry>();
  for (const entry of entries) latest.set(entry.id, entry);
  return [...latest.values()];
}

/** Log lines the API wrote at submission, as the first lines of the job log. */
export function submissionLines(spec: { submissionLog: { severity: LogLine["severity"]; message: string }[]; createdAt: number }): LogLine[] {
  return spec.submissionLog.map((line, index) => ({ seq: index + 1, taskId: null, severity: line.severity, progname: "api", message: line.message, time: spec.createdAt }));
}
