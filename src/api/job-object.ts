import type { JobRow, LogRow, TaskRow } from "../db/jobs";
import type { JobObject } from "./schemas";

/** A jobs row (and its tasks) as the API's job object. */
export function toJobObject(row: JobRow, tasks?: TaskRow[]): JobObject {
  const job: JobObject = {
    id: row.id,
    client: row.client,
    workflow: row.workflow,
    priority: row.priority,
    position: null,
    top_of_queue: false,
    parameters: JSON.parse(row.parameters) as unknown,
    created_at: row.created_at,
    updated_at: row.updated_at,
    queue_state: row.queue_state,
    failed: row.failed === 1,
    run_at: row.run_at,
    persist: row.persist === 1,
    progress: row.progress,
    result: row.result === null ? null : (JSON.parse(row.result) as Record<string, unknown>),
  };
  if (tasks) job.tasks = tasks;
  return job;
}

const SEVERITY_NAMES: Record<number, string> = { 0: "DEBUG", 1: "INFO", 2: "WARN", 3: "ERROR", 4: "FATAL" };

export function toLogLine(row: LogRow) {
  return {
    id: row.id,
    job_id: row.job_id,
    task_id: row.task_id,
    severity: row.severity,
    severity_description: SEVERITY_NAMES[row.severity] ?? "UNKNOWN",
    progname: row.progname,
    message: row.message,
    created_at: row.created_at,
    updated_at: row.created_at,
    visible: row.visible === 1,
  };
}
