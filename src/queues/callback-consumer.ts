import type { DeliveryReport } from "../coordinator/job-coordinator";
import type { CallerCost } from "../protocol/admission";
import { errorMessage } from "../domain/errors";
import { isDelivered, type AttemptRecord } from "../domain/outbox";
import { deliverCallback, type DeliveryDeps } from "./deliver";
import { callbackRun, type CallbackMessage, type RunDelivery } from "./messages";
import { settleMessages } from "./settle";

/** How many callbacks of one endpoint a message may deliver, runs after runs, without going back through the queue. */
const MAX_INLINE_DELIVERIES = 100;

/**
 * How long a batch may wait for its slowest endpoint. A queue hands out its next batch only when this
 * one ends, so an endpoint that hangs until the attempt timeout would otherwise hold back every callback
 * queued behind it, of every endpoint and every job.
 */
const BATCH_BUDGET_MS = 1_000;

/** Follow-on runs are taken inline only this long, so a handed-off series stays within waitUntil's limits. */
const INLINE_BUDGET_MS = 10_000;

export interface CallbackCoordinator {
  recordDeliveries(endpoint: string, reports: DeliveryReport[], takeNext: boolean, cost: CallerCost): Promise<CallbackMessage | null>;
  callbackBody(id: string): Promise<string | null>;
}

export interface CallbackConsumerDeps extends DeliveryDeps {
  coordinator: (jobId: string) => CallbackCoordinator;
  /** Keeps a delivery running after the batch has ended (the invocation's `ctx.waitUntil`). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * Callbacks queue consumer: a message is a run of callbacks of one job for one endpoint. They are POSTed
 * in order, one after the other; the first that fails ends the run and the rest are handed back. The run's
 * attempts are reported to the job's coordinator together (it records them and schedules any retry),
 * which may hand back the endpoint's next run at once. Each message is acked or retried on its own.
 *
 * Deliveries still running when the batch budget runs out are handed to `waitUntil` and their messages
 * acked: the coordinator leased each callback it sent, so one whose report never arrives is sent again
 * by its alarm. Nothing is lost; the batch just stops waiting.
 */
export async function consumeCallbacks(batch: MessageBatch<CallbackMessage>, deps: CallbackConsumerDeps): Promise<void> {
  // The batch's Worker invocation, shared by its messages' jobs.
  const share: CallerCost = { workerInvocations: 1 / batch.messages.length };
  await settleMessages(
    batch.messages,
    (body) => deliverRuns(body, deps, share),
    // The coordinator could not be told: try again (receivers dedupe on webhook-id), or, once the message
    // is handed off, leave it to the coordinator's lease.
    (body, error) => console.error(JSON.stringify({ level: "error", message: "callback report failed", job_id: body?.jobId, error: errorMessage(error) })),
    deps.waitUntil && { budgetMs: BATCH_BUDGET_MS, waitUntil: deps.waitUntil },
  );
}

/** Delivers a run, then each follow-on run of the same endpoint the coordinator hands back. */
async function deliverRuns(body: unknown, deps: CallbackConsumerDeps, share: CallerCost): Promise<void> {
  // A malformed body is retried like any failure, on its own, and ends in the dead-letter queue.
  let run = callbackRun(body);
  if (!run) throw new Error("malformed callback message");
  const startedAt = Date.now();
  let sent = 0;
  let cost: CallerCost = share;
  while (run) {
    const coordinator = deps.coordinator(run.jobId);
    const reports = await deliverRun(run, coordinator, deps);
    if (reports === null) return; // the job was purged
    sent += reports.length;
    const takeNext = sent < MAX_INLINE_DELIVERIES && Date.now() - startedAt < INLINE_BUDGET_MS;
    run = await coordinator.recordDeliveries(run.endpoint, reports, takeNext, cost);
    cost = {};
  }
}

/** POSTs a run's callbacks in order; the first that fails ends it, and the rest are reported unattempted. */
async function deliverRun(run: CallbackMessage, coordinator: CallbackCoordinator, deps: CallbackConsumerDeps): Promise<DeliveryReport[] | null> {
  const reports: DeliveryReport[] = [];
  let stopped = false;
  for (const delivery of run.deliveries) {
    if (stopped) {
      reports.push({ id: delivery.id, attempt: delivery.attempt, record: null });
      continue;
    }
    // A body too large for the queue message stays with the coordinator (null: the job was purged).
    const body = delivery.body ?? (await coordinator.callbackBody(delivery.id));
    if (body === null) return null;
    const record = await deliverCallback({ jobId: run.jobId, client: run.client, endpoint: run.endpoint, ...delivery, body }, deps);
    if (record.error !== null) logFailedAttempt(run, delivery, record);
    reports.push({ id: delivery.id, attempt: delivery.attempt, record });
    stopped = !isDelivered(record);
  }
  return reports;
}

/** One line per failed attempt, for operators; the endpoint without its query (it may carry a token). */
function logFailedAttempt(run: CallbackMessage, delivery: RunDelivery, record: AttemptRecord): void {
  const url = new URL(run.endpoint);
  console.warn(
    JSON.stringify({
      level: "warn",
      message: "callback attempt failed",
      job_id: run.jobId,
      callback_id: delivery.id,
      attempt: delivery.attempt,
      endpoint: `${url.origin}${url.pathname}`,
      status: record.status,
      error: record.error,
    }),
  );
}
