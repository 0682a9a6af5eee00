import type { JobState, RetryPolicy, TaskState } from "./job-state";

/** One task of a job as planned at creation, from the workflow definition and the parameters. */
export interface TaskPlan {
  name: string;
  id: string;
  executor: string;
  needs: string[];
  /** The task's `when` was false for these parameters. */
  skip: boolean;
  policy: RetryPolicy;
  timeoutMs: number;
  /** The worker pool that runs it (the client's own pool where its configuration maps one); null: the edge. */
  pool: string | null;
}

export interface JobPlan {
  jobId: string;
  client: string;
  workflow: string;
  contentId: string | null;
  tasks: TaskPlan[];
  createdAt: number;
  dispatchLeaseMs: number;
  leaseGraceMs: number;
  workerLeaseMs?: number;
  offerLeaseMs?: number;
  progressCallbacks?: boolean;
}

/** Checks a task graph: unique names, known needs, no cycle. Returns the first problem, or null. */
export function graphProblem(tasks: ReadonlyArray<Pick<TaskPlan, "name" | "needs">>): string | null {
  const names = new Set<string>();
  for (const task of tasks) {
    if (names.has(task.name)) return `task '${task.name}' is defined twice`;
    names.add(task.name);
  }
  for (const task of tasks) {
    for (const need of task.needs) if (!names.has(need)) return `task '${task.name}' needs unknown task '${need}'`;
  }
  // Kahn's algorithm: a graph without a cycle can be emptied by removing tasks whose needs are gone.
  const remaining = new Map(tasks.map((task) => [task.name, new Set(task.needs)]));
  let progressed = true;
  while (remaining.size > 0 && progressed) {
    progressed = false;
    for (const [name, needs] of remaining) {
      if ([...needs].some((need) => remaining.has(need))) continue;
      remaining.delete(name);
      progressed = true;
    }
  }
  return remaining.size === 0 ? null : `tasks ${[...remaining.keys()].join(", ")} form a cycle`;
}

/** The state of a job before its `start` event. */
export function initialJobState(plan: JobPlan): JobState {
  const problem = graphProblem(plan.tasks);
  if (problem) throw new Error(`invalid task graph: ${problem}`);
  const tasks: Record<string, TaskState> = {};
  for (const task of plan.tasks) {
    tasks[task.name] = {
      name: task.name,
      id: task.id,
      executor: task.executor,
      needs: task.needs,
      status: task.skip ? "skipped" : "pending",
      attempt: 0,
      attemptBase: 0,
      policy: task.policy,
      timeoutMs: task.timeoutMs,
      deadline: null,
      startedAt: null,
      endedAt: null,
      message: "",
      output: null,
      progress: 0,
      version: 0,
      ...(task.pool === null ? {} : { pool: task.pool }),
    };
  }
  return {
    jobId: plan.jobId,
    client: plan.client,
    workflow: plan.workflow,
    contentId: plan.contentId,
    outcome: "running",
    admitted: false,
    paused: false,
    failureMessage: "",
    order: plan.tasks.map((task) => task.name),
    tasks,
    nextSequence: 1,
    nextLogSeq: 1,
    version: 0,
    dispatchLeaseMs: plan.dispatchLeaseMs,
    leaseGraceMs: plan.leaseGraceMs,
    ...(plan.workerLeaseMs === undefined ? {} : { workerLeaseMs: plan.workerLeaseMs }),
    ...(plan.offerLeaseMs === undefined ? {} : { offerLeaseMs: plan.offerLeaseMs }),
    ...(plan.progressCallbacks ? { progressCallbacks: true } : {}),
    createdAt: plan.createdAt,
    endedAt: null,
  };
}

/** The earliest time the watchdog must look at the job's tasks, or null. */
export function nextTaskDeadline(state: JobState): number | null {
  if (state.outcome !== "running") return null;
  let earliest: number | null = null;
  for (const name of state.order) {
    const deadline = state.tasks[name]!.deadline;
    if (deadline !== null && (earliest === null || deadline < earliest)) earliest = deadline;
  }
  return earliest;
}
