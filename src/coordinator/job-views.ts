import { iso } from "../db/statement";
import { jobProgress } from "../domain/job-state";
import type { DeliveryRecord } from "../domain/outbox";
import type { LogLine } from "./job-document";
import type { JobModel } from "./job-model";
import { jobResult } from "./notices";

/**
 * The job as the API shows it, built from its coordinator's own state (the coordinator is the job's only
 * store): the job object, its log and its delivery log. The same bodies the API has always answered.
 */

export interface TaskView {
  task_id: string;
  task_name: string;
  state: string;
  attempts: number;
  started_at: string | null;
  ended_at: string | null;
  message: string;
  progress: number;
  /** (ext) The tasks it waits for: the job's task graph. */
  needs: string[];
}

export interface JobView {
  id: string;
  client: string;
  workflow: string;
  priority: number;
  /** Place in the client's queue: the API fills it in from the scheduler for a queued job. */
  position: number | null;
  top_of_queue: boolean;
  parameters: unknown;
  created_at: string;
  updated_at: string;
  queue_state: string;
  failed: boolean;
  run_at: string | null;
  persist: boolean;
  progress: number;
  tasks: TaskView[];
  result: Record<string, unknown> | null;
}

export function jobView(job: JobModel): JobView {
  const { spec, state, meta } = job;
  return {
    id: spec.jobId,
    client: spec.client,
    workflow: spec.workflow,
    priority: meta.priority,
    position: null,
    top_of_queue: false,
    parameters: spec.submittedParameters,
    created_at: iso(spec.createdAt)!,
    updated_at: iso(job.updatedAt)!,
    queue_state: meta.queueState,
    failed: state.outcome === "failed",
    run_at: iso(meta.runAt),
    persist: meta.persist,
    progress: jobProgress(state),
    tasks: state.order.map((name) => {
      const task = state.tasks[name]!;
      return {
        task_id: task.id,
        task_name: task.name,
        state: task.status,
        attempts: task.attempt,
        started_at: iso(task.startedAt),
        ended_at: iso(task.endedAt),
        message: task.message,
        progress: task.progress,
        needs: [...task.needs],
      };
    }),
    result: state.outcome === "completed" ? jobResult(job.workflow, spec, state) : null,
  };
}

const SEVERITY_NUMBERS = { info: 1, warn: 2, error: 3 } as const;
const SEVERITY_NAMES: Record<number, string> = { 0: "DEBUG", 1: "INFO", 2: "WARN", 3: "ERROR", 4: "FATAL" };

export interface LogLineView {
  id: number;
  job_id: string;
  task_id: string | null;
  severity: number;
  severity_description: string;
  progname: string;
  message: string;
  created_at: string;
  updated_at: string;
  visible: boolean;
}

/** The job log, oldest first: every line is visible (`show_all` has nothing more to show). */
export function logView(jobId: string, lines: readonly LogLine[]): LogLineView[] {
  return lines.map((line) => {
    const severity = SEVERITY_NUMBERS[line.severity];
    const time = iso(line.time)!;
    return {
      id: line.seq,
      job_id: jobId,
      task_id: line.taskId,
      severity,
      severity_description: SEVERITY_NAMES[severity] ?? "UNKNOWN",
      progname: line.progname,
      message: line.message,
      created_at: time,
      updated_at: time,
      visible: true,
    };
  });
}

export interface CallbackView {
  callback_id: string;
  endpoint: string;
  event: string;
  sequence: number;
  state: "pending" | "in_flight" | "delivered" | "failed";
  next_attempt_at: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  attempts: { attempt: number; attempted_at: string; status: number | null; duration_ms: number; error: string | null }[];
}

/** The delivery log: every callback in sequence order (then endpoint), with each attempt. */
export function deliveryView(records: Iterable<DeliveryRecord>): CallbackView[] {
  return [...records]
    .sort((a, b) => a.entry.sequence - b.entry.sequence || (a.entry.id < b.entry.id ? -1 : 1))
    .map(({ entry, createdAt, updatedAt, attempts }) => ({
      callback_id: entry.id,
      endpoint: entry.endpoint,
      event: entry.event,
      sequence: entry.sequence,
      state: entry.state,
      next_attempt_at: entry.state === "pending" ? iso(entry.dueAt) : null,
      error: entry.error,
      created_at: iso(createdAt)!,
      updated_at: iso(updatedAt)!,
      attempts: attempts.map((attempt) => ({
        attempt: attempt.attempt,
        attempted_at: iso(attempt.startedAt)!,
        status: attempt.status,
        duration_ms: Math.round(attempt.durationMs),
        error: attempt.error,
      })),
    }));
}
