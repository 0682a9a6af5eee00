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
    pool: poolOf(definition.runsOn, spec.pools),
  }));
}

/** The pool a task runs on for this client (its configuration may map a pool to its own), or null: the edge. */
export function poolOf(runsOn: string | undefined, clientPools: Record<string, string> | undefined): string | null {
  if (runsOn === undefined || runsOn === "edge") return null;
  return clientPools && Object.hasOwn(clientPools, runsOn) ? clientPools[runsOn]! : runsOn;
}
