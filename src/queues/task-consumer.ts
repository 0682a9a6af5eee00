import type { CallerCost } from "../protocol/admission";
import type { TaskAssignment } from "../coordinator/job-spec";
import { errorMessage, isRetryable, NonRetryableError } from "../domain/errors";
import { findExecutor } from "../executors/registry";
import type { StorageResolver } from "../storage/resolve";
import type { DrmAccess, WorkFolder } from "../executors/executor";
import type { TaskMessage } from "./messages";
import { settleMessages, type Handoff } from "./settle";

/** How many follow-on tasks one message may run without going back through the queue. */
const MAX_INLINE_TASKS = 50;
/**
 * How long one message may keep taking follow-on tasks of its job. A chain of quick tasks saves its queue
 * hops; a chain of slow ones goes back through the queue after each task, so that one job's chain never
 * holds the batch (and, under `wrangler dev`, the one batch a queue runs at a time) while other jobs' tasks
 * wait (efficiency.md, Fairness).
 */
export const INLINE_BUDGET_MS = 250;

/** The coordinator methods the consumer uses (a JobCoordinator stub, or a test double of its RPC). */
export interface TaskCoordinator {
  claim(task: string, attempt: number, cost?: CallerCost): Promise<{ ok: true; assignment: TaskAssignment } | { ok: false; reason: string }>;
  complete(task: string, attempt: number, output: unknown, takeNext: boolean): Promise<TaskAssignment | null>;
  fail(task: string, attempt: number, error: string, retryable: boolean): Promise<void>;
  progress(task: string, attempt: number, progress: number): Promise<void>;
}

export interface TaskConsumerDeps {
  coordinator: (jobId: string) => TaskCoordinator;
  /** Storage locations of a client, for executors. */
  storage: StorageResolver;
  /** A job's work folder in the engine's own bucket (media outputs on their way to publishing). */
  work: (jobId: string) => WorkFolder;
  /** DRM key fetching for a job of a client (executors/get-drm-keys.ts). */
  drm: (client: string, jobId: string) => DrmAccess;
  /** Stop waiting for the batch's attempts after a budget (development only: see `EngineConfig.taskBatchBudgetMs`). */
  handoff?: Handoff;
}

/**
 * Tasks queue consumer. Each message is acked or retried on its own: a claim refused as stale or
 * duplicate is acked and dropped; an infrastructure failure retries the message (the claim dedupes).
 * With a handoff (development only, see `EngineConfig.taskBatchBudgetMs`), attempts still running when
 * its budget runs out go on under `waitUntil`, their messages acked; an attempt lost with the isolate is
 * sent again by the coordinator's watchdog when its lease ends.
 */
export async function consumeTasks(batch: MessageBatch<TaskMessage>, deps: TaskConsumerDeps): Promise<void> {
  // The batch's Worker invocation, shared by its messages' jobs (reported with each claim).
  const share: CallerCost = { workerInvocations: 1 / batch.messages.length };
  await settleMessages(
    batch.messages,
    (body) => runTaskMessage(body, deps, share),
    (body, error) => console.error(JSON.stringify({ level: "error", message: "task message failed", job_id: body?.jobId, task: body?.task, error: errorMessage(error) })),
    deps.handoff,
  );
}

/** Claims the attempt, runs it, reports it; then runs the follow-on task the coordinator hands back, if any. */
export async function runTaskMessage(body: TaskMessage, deps: TaskConsumerDeps, cost: CallerCost = {}): Promise<void> {
  if (typeof body?.jobId !== "string" || typeof body.task !== "string" || !Number.isInteger(body.attempt)) {
    throw new Error("malformed task message");
  }
  const coordinator = deps.coordinator(body.jobId);
  const claim = await coordinator.claim(body.task, body.attempt, cost);
  if (!claim.ok) return;
  let assignment: TaskAssignment | null = claim.assignment;
  const started = Date.now();
  for (let ran = 1; assignment; ran++) {
    const outcome = await runAttempt(assignment, coordinator, deps);
    if (outcome.ok) {
      const takeNext = ran < MAX_INLINE_TASKS && Date.now() - started < INLINE_BUDGET_MS;
      assignment = await coordinator.complete(assignment.task, assignment.attempt, outcome.output, takeNext);
    } else {
      await coordinator.fail(assignment.task, assignment.attempt, outcome.error, outcome.retryable);
      assignment = null;
    }
  }
}

/** The abort reason of an attempt that ended: one shared value (an Error's stack costs more than the attempt's bookkeeping). */
const ATTEMPT_FINISHED = new NonRetryableError("attempt finished");

type AttemptOutcome = { ok: true; output: unknown } | { ok: false; error: string; retryable: boolean };

/** Runs one attempt's executor under its timeout; never throws. */
export async function runAttempt(assignment: TaskAssignment, coordinator: TaskCoordinator, deps: Pick<TaskConsumerDeps, "storage" | "work" | "drm">): Promise<AttemptOutcome> {
  const executor = findExecutor(assignment.executor);
  if (!executor) return { ok: false, error: `unknown executor '${assignment.executor}'`, retryable: false };
  const controller = new AbortController();
  const seconds = Math.round(assignment.timeoutMs / 1000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`timed out after ${seconds} s`);
      controller.abort(error);
      reject(error);
    }, assignment.timeoutMs);
  });
  try {
    const output = await Promise.race([
      executor(assignment.input, {
        jobId: assignment.jobId,
        client: assignment.client,
        taskName: assignment.task,
        attempt: assignment.attempt,
        signal: controller.signal,
        log: (message) => console.log(JSON.stringify({ level: "info", job_id: assignment.jobId, task: assignment.task, message })),
        progress: (percent) => void coordinator.progress(assignment.task, assignment.attempt, percent).catch(() => undefined),
        storage: (name) => deps.storage(assignment.client, name),
        work: deps.work(assignment.jobId),
        drm: deps.drm(assignment.client, assignment.jobId),
      }),
      timeout,
    ]);
    return { ok: true, output: output ?? null };
  } catch (error) {
    return { ok: false, error: errorMessage(error), retryable: isRetryable(error) };
  } finally {
    clearTimeout(timer);
    // Work an executor left running (a fetch it did not await) stops with the attempt.
    if (!controller.signal.aborted) controller.abort(ATTEMPT_FINISHED);
  }
}
