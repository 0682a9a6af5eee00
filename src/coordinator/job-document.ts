import type { CostLedger } from "../domain/cost";
import type { Severity } from "../domain/job-events";
import type { JobMeta } from "../domain/job-management";
import type { JobState, TaskState } from "../domain/job-state";
import type { DeliveryRecord } from "../domain/outbox";

/**
 * How a job is laid out in its coordinator's SQLite storage, chosen so that a transition writes as few rows
 * as possible (every row written is billed): one `head` row holds all that changes often — the job-level
 * state, the first TASKS_PER_PAGE tasks, the job log's newest lines and the delivery records of callbacks
 * being delivered — and is rewritten by each transition. What only grows is sealed into rows of its own
 * once there is a chunk of it (older log lines, settled callbacks). A callback's body is written once: a
 * small one in the head, with the transition that makes the callback, and then in the chunk its delivery
 * record is sealed into; a large one in a row of its own. Pure: the store (job-store.ts) reads and writes
 * these shapes.
 */

/** Tasks per page; page 0 lives in the head row, so a job of up to this many tasks writes one row per transition. */
export const TASKS_PER_PAGE = 32;
/** Log lines, or settled delivery records, per sealed chunk row. */
export const CHUNK_SIZE = 32;
/** A callback body up to this size rides in the head row rather than a row of its own (one row less per callback). */
export const HEAD_BODY_CHARS = 8 * 1024;
/** The bodies in the head together stay under this, so the head (rewritten by every transition) stays small. */
export const HEAD_BODIES_BUDGET = 128 * 1024;

/** The job-level part of the state (tasks are stored by page). */
export type JobHead = Omit<JobState, "tasks">;

/** One line of the job log. */
export interface LogLine {
  /** Per job, from 1: the line's `id` in GET /logs/{id}. */
  seq: number;
  taskId: string | null;
  severity: Severity;
  /** `api` for lines the API wrote at submission, `controller` for the engine's. */
  progname: string;
  message: string;
  time: number;
}

/** The head row. */
export interface HeadDocument {
  head: JobHead;
  meta: JobMeta;
  /** What the job has cost so far (domain/cost.ts); stored with writes that happen anyway. */
  ledger: CostLedger;
  /** When the job last changed (the job object's `updated_at`). */
  updatedAt: number;
  /** Tasks of page 0, in definition order. */
  tasks: TaskState[];
  /** Log lines not yet sealed, oldest first. */
  log: LogLine[];
  /** How many log chunks are sealed (chunk n holds lines from n × CHUNK_SIZE). */
  logChunks: number;
  /** Delivery records that changed since their callback was made and are not sealed. */
  deliveries: DeliveryRecord[];
  /** How many chunks of settled delivery records are sealed. */
  deliveryChunks: number;
  /** Bodies of callbacks whose record is in the head, by callback id (small ones; see HEAD_BODY_CHARS). */
  bodies?: Record<string, string>;
  /**
   * Counts the job-level changes the D1 job index row shows; the row is behind while this is above the
   * version last written (kept in a row of its own, written with each index write).
   */
  indexVersion: number;
  /** The `job cost` line was logged (the job ended and its callbacks settled). */
  costReported: boolean;
}

/** The task page a task at `position` is stored on. */
export function pageOf(position: number): number {
  return Math.floor(position / TASKS_PER_PAGE);
}

/** The tasks of a page, in definition order. */
export function pageTasks(state: JobState, page: number): TaskState[] {
  return state.order.slice(page * TASKS_PER_PAGE, (page + 1) * TASKS_PER_PAGE).map((name) => state.tasks[name]!);
}

/** The pages other than page 0 that hold a task changed since `before` (by the tasks' versions). */
export function changedPages(before: JobState | null, after: JobState): number[] {
  const pages = new Set<number>();
  after.order.forEach((name, position) => {
    if (position < TASKS_PER_PAGE) return;
    if (before === null || after.tasks[name]!.version > before.version) pages.add(pageOf(position));
  });
  return [...pages].sort((a, b) => a - b);
}

/** Rebuilds a job's state from its head and its task pages (page 0 is in the head). */
export function stateFrom(document: HeadDocument, pages: readonly TaskState[][]): JobState {
  const tasks: Record<string, TaskState> = {};
  for (const task of [...document.tasks, ...pages.flat()]) tasks[task.name] = task;
  return { ...document.head, tasks };
}

/** The head without its tasks. */
export function headOf(state: JobState): JobHead {
  const { tasks: _tasks, ...head } = state;
  return head;
}

/** Splits a list into what stays (`keep`) and the full chunks to seal, oldest first. */
export function sealChunks<T>(items: readonly T[], canSeal: (item: T) => boolean = () => true): { keep: T[]; chunks: T[][] } {
  const sealable = items.filter(canSeal);
  const sealCount = Math.floor(sealable.length / CHUNK_SIZE) * CHUNK_SIZE;
  if (sealCount === 0) return { keep: [...items], chunks: [] };
  const sealed = new Set(sealable.slice(0, sealCount));
  const chunks: T[][] = [];
  for (let i = 0; i < sealCount; i += CHUNK_SIZE) chunks.push(sealable.slice(i, i + CHUNK_SIZE));
  return { keep: items.filter((item) => !sealed.has(item)), chunks };
}

/** A callback's row key: its sequence and its endpoint's index (at most 10 endpoints), one integer. */
export function callbackKey(sequence: number, endpointIndex: number): number {
  return sequence * 16 + endpointIndex;
}
