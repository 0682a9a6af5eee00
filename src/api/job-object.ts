import type { JobRow } from "../db/jobs";
import type { JobObject } from "./schemas";

/** A row of the D1 job index as the API's job object (listings: without tasks). */
export function toJobObject(row: JobRow): JobObject {
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
  return job;
}
