import type { JobSpec } from "../coordinator/job-spec";
import type { JobMeta } from "../domain/job-management";
import type { JobState } from "../domain/job-state";
import { iso, type Statement } from "./statement";

/**
 * The job's row in the D1 job index: the columns `GET /jobs` filters, orders and shows. Written by the
 * job's coordinator at job-level changes only, coalesced (index-writer.ts); an upsert guarded by the time of
 * the job's last change.
 */
export function jobIndexRow(
  spec: JobSpec,
  state: JobState,
  meta: JobMeta,
  progress: number,
  result: Record<string, unknown> | null,
  updatedAt: number,
): Statement {
  return {
    sql: `INSERT INTO jobs (id, client, workflow, content_id, priority, queue_state, failed, run_at, semaphore_url, persist,
                            parameters, result, progress, rerun_of, created_at, updated_at, started_at, ended_at, version)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET priority = excluded.priority, queue_state = excluded.queue_state,
            failed = excluded.failed, run_at = excluded.run_at, semaphore_url = excluded.semaphore_url,
            persist = excluded.persist, result = excluded.result, progress = excluded.progress,
            updated_at = excluded.updated_at, started_at = excluded.started_at, ended_at = excluded.ended_at,
            version = excluded.version
          WHERE excluded.version >= jobs.version`,
    params: [
      spec.jobId,
      spec.client,
      spec.workflow,
      spec.contentId,
      meta.priority,
      meta.queueState,
      state.outcome === "failed" ? 1 : 0,
      iso(meta.runAt),
      meta.semaphoreUrl,
      meta.persist ? 1 : 0,
      JSON.stringify(spec.submittedParameters),
      result === null ? null : JSON.stringify(result),
      progress,
      spec.rerunOf ?? null,
      iso(spec.createdAt),
      iso(updatedAt),
      iso(meta.startedAt),
      iso(state.endedAt),
      // The time of the job's last change orders the writes: a late or repeated one never takes the row back.
      updatedAt,
    ],
  };
}
