import type { Notice } from "./job-events";

export interface JobIdentity {
  jobId: string;
  client: string;
  workflow: string;
  contentId: string | null;
}

export type CallbackBody = Record<string, unknown>;

/** The event name used by callback rules' `events` filters. */
export function noticeEvent(notice: Notice): string {
  return notice.kind === "task" ? `task.${notice.event}` : "job.end";
}

/**
 * The default callback body of a notice (callbacks.md). `result` holds the workflow's own job-callback
 * fields (`message`, `files`, ...); `taskExtras` the workflow's extra task-callback fields.
 */
export function callbackBody(
  job: JobIdentity,
  notice: Notice,
  customData: unknown,
  result: Record<string, unknown>,
  taskExtras: Record<string, unknown> = {},
): CallbackBody {
  const time = new Date(notice.time).toISOString();
  if (notice.kind === "task") {
    const body: CallbackBody = {
      job_id: job.jobId,
      task_id: notice.taskId,
      task_name: notice.task,
      workflow: job.workflow,
      event: notice.event,
      content_id: job.contentId,
      message: notice.message,
      time,
      client: job.client,
      sequence: notice.sequence,
      attempt: notice.attempt,
    };
    if (notice.retrying !== undefined) body.retrying = notice.retrying;
    if (notice.progress !== undefined) body.progress = notice.progress;
    return { ...body, ...taskExtras };
  }
  const base: CallbackBody = {
    job_id: job.jobId,
    status: notice.status,
    workflow: job.workflow,
    content_id: job.contentId,
    custom_data: customData ?? null,
    time,
    client: job.client,
    sequence: notice.sequence,
  };
  if (notice.status === "failed") return { ...base, ...result, message: notice.message };
  return { ...base, message: "", ...result };
}
