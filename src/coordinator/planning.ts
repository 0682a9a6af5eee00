import { ulid } from "ulidx";
import type { TaskPlan } from "../domain/job-graph";
import type { Workflow } from "../workflows/definition";
import type { JobSpec } from "./job-spec";

/** A task's attempt timeout when its definition gives none. */
const DEFAULT_TASK_TIMEOUT_MS = 60_000;
/** Backoff multiplier when a definition gives none. */
const DEFAULT_BACKOFF = 2;

/** The job's task graph from its workflow definition and parameters: needs, `when`, retry policy, timeout. */
export function planTasks(workflow: Workflow, spec: JobSpec): TaskPlan[] {
  return workflow.tasks(spec.parameters).map((definition) => ({
    name: definition.name,
    id: ulid(),
    executor: definition.executor,
    needs: definition.needs ?? [],
    skip: definition.when ? !definition.when(spec.parameters) : false,
    policy: {
      limit: definition.retry?.limit ?? spec.retryLimit,
      delayMs: definition.retry?.delayMs ?? spec.retryDelayMs,
      backoff: definition.retry?.backoff ?? DEFAULT_BACKOFF,
    },
    timeoutMs:
      typeof definition.timeoutMs === "function" ? definition.timeoutMs(spec.parameters) : (definition.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS),
  }));
}
