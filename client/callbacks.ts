/**
 * The callback bodies the engine POSTs (../shared/spec/callbacks.md; built by src/domain/callback-body.ts):
 * one per task start, completion or failure, and one when the job ends. Callbacks are not operations of
 * /openapi.json, so these types are written here, beside the code that makes the bodies.
 */

export interface TaskCallback {
  job_id: string;
  task_id: string;
  task_name: string;
  workflow: string;
  event: "start" | "complete" | "fail" | "progress";
  content_id: string | null;
  message: string;
  time: string;
  client: string;
  /** Per job, from 1, no gaps: the order to apply callbacks in. */
  sequence: number;
  attempt: number;
  /** On `fail`: whether the task will be tried again. */
  retrying?: boolean;
  /** On `progress`: 0-100. */
  progress?: number;
  /** A workflow's extra task fields (asset_delete's `files`, …). */
  [extra: string]: unknown;
}

export interface JobCallback {
  job_id: string;
  status: "completed" | "failed";
  workflow: string;
  content_id: string | null;
  custom_data: unknown;
  time: string;
  client: string;
  sequence: number;
  message: string;
  /** A workflow's own fields (`files`, `metadata`, …). */
  [extra: string]: unknown;
}

export type Callback = TaskCallback | JobCallback;

export function isTaskCallback(callback: Callback): callback is TaskCallback {
  return "task_id" in callback;
}
