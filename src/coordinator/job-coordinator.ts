import { DurableObject } from "cloudflare:workers";
import { engineConfig, type EngineConfig } from "../config";
import { indexDatabase } from "../db/index-shards";
import { jobIndexRow } from "../db/job-index";
import { addCost, queueUnitsOf, type CostLedger } from "../domain/cost";
import { nextTaskDeadline } from "../domain/job-graph";
import { isEnded, planChange, waitingState, type JobChange, type JobMeta, type QueueState } from "../domain/job-management";
import { jobProgress } from "../domain/job-state";
import { Outbox, type AttemptRecord, type Send } from "../domain/outbox";
import { withQueueFaults } from "../faults/queue-faults";
import { queueBatches } from "../queues/batches";
import { MAX_INLINE_BODY_CHARS, type CallbackMessage, type TaskMessage } from "../queues/messages";
import { admissionControlFor, type AdmissionTarget, type CallerCost, type SchedulerSync } from "../protocol/admission";
import type { SchedulerConfig } from "../scheduler/scheduler-config";
import { INDEX_DELAY_MS, IndexWriter } from "./index-writer";
import { convertLegacyJob, isLegacyJob } from "./legacy-job";
import { pageTasks, TASKS_PER_PAGE } from "./job-document";
import { headDocument, indexPending, newJobModel, storedJobModel, type JobModel } from "./job-model";
import type { ClaimResult, JobSpec, RemoteAssignment, TaskAssignment } from "./job-spec";
import type { FileRoot } from "../workflows/definition";
import { matchesAnyDigest } from "../domain/digest";
import { endedMessage, leaseStanding, repeatsEndingReport } from "../domain/worker-lease";
import type { WorkerAnswer, WorkerCall, WorkerCaller } from "../protocol/worker-calls";
import type { PoolOffer } from "../protocol/pool";
import { workerPoolFor } from "../pool/stub";
import { attemptFolder, workFolder } from "../storage/work-folder";
import { JobStore } from "./job-store";
import { deliveryView, jobView, logView, type CallbackView, type JobView, type LogLineView } from "./job-views";
import { applyChange, endpointIndexOf, submissionLines, type ChangeInput, type ChangeOutcome } from "./job-writes";
import { jobResult, taskOutputs } from "./notices";

/** If a D1 write or a scheduler sync fails, the alarm tries again after this long. */
const RETRY_MS = 2_000;
/** While an admission sync is owed, the alarm looks again this soon (a safety net: it is sent at once). */
const PENDING_CHECK_MS = 10_000;

/** A delivery attempt a callbacks consumer reports; `record: null`: handed back, not attempted. */
export interface DeliveryReport {
  id: string;
  attempt: number;
  record: AttemptRecord | null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export type ChangeResult = { ok: true; performed: string[] } | { ok: false; conflict: string } | { ok: false; notFound: true };

/**
 * The source of truth of one job, and its only store: its task graph, attempts and leases, its admission
 * state, its callback outbox with every delivery attempt, its log and its cost ledger. A thin adapter: each
 * change is worked out by job-writes.ts (a pure module), stored in this object's SQLite storage in one
 * transaction before any effect (queue send, callback, D1 index write, admission sync) is started.
 */
export class JobCoordinator extends DurableObject<Env> implements AdmissionTarget {
  private store: JobStore;
  private readonly config: EngineConfig;
  private readonly index: IndexWriter;
  private job: JobModel | null = null;
  private alarmAt: number | null = null;
  /** Admission settings handed over at creation, for the job's first sync. */
  private schedulerConfig: SchedulerConfig | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    // Test-only fault injection on the queue producers; `env` itself in every build but the chaos drill's.
    super(ctx, withQueueFaults(env));
    this.config = engineConfig(env);
    this.store = new JobStore(ctx.storage.sql);
    this.index = new IndexWriter(
      () => indexDatabase(this.env, this.job?.spec.indexShard ?? 0),
      () => this.indexRow(),
      (version, meta) => this.indexWritten(version, meta),
      (message) => this.logError(message),
    );
    void ctx.blockConcurrencyWhile(async () => {
      if (isLegacyJob(ctx.storage.sql)) await convertLegacyJob(ctx.storage.sql, env.DB, this.store, ctx.storage);
      const stored = this.store.load();
      if (!stored) return; // A new object (most often, a job about to be created) has no alarm to look up.
      this.job = storedJobModel(stored, this.config);
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ─── creation and admission ─────────────────────────────────────────────────────────────────────────

  /**
   * Creates the job: stores its spec and head, then hands it to its client's admission control and to the
   * D1 job index (neither is awaited: the job can be read from here at once). Calling it again creates
   * nothing; it finishes what a first call cut short left pending.
   */
  async create(spec: JobSpec, scheduler?: SchedulerConfig, cost: CallerCost = {}): Promise<{ created: boolean; queueState: QueueState }> {
    if (this.job) {
      this.charge(cost);
      await this.finishCreation();
      return { created: false, queueState: this.job.meta.queueState };
    }
    this.schedulerConfig = scheduler;
    const now = Date.now();
    const runAt = spec.runAt === null ? null : Date.parse(spec.runAt);
    const job = newJobModel(spec, {
      queueState: waitingState(runAt, spec.semaphoreUrl ?? null, now),
      priority: spec.priority,
      runAt,
      semaphoreUrl: spec.semaphoreUrl ?? null,
      persist: spec.persist,
      generation: 1,
      startedAt: null,
      syncPending: scheduler !== undefined,
    }, this.config, now);
    this.job = job;
    this.charge(cost);
    const pages = new Map<number, ReturnType<typeof pageTasks>>();
    for (let page = 1; page * TASKS_PER_PAGE < job.state.order.length; page++) pages.set(page, pageTasks(job.state, page));
    this.ctx.storage.transactionSync(() => this.store.create(spec, { document: headDocument(job, pageTasks(job.state, 0)), pages }));
    await this.finishCreation();
    return { created: true, queueState: job.meta.queueState };
  }

  /**
   * The alarm is armed before any effect (persist before effect): it writes the D1 index row a moment
   * later, and should the runtime die now, it still makes the admission sync, or the stored job would wait
   * for nothing, forever.
   */
  private async finishCreation(): Promise<void> {
    await this.ensureAlarm();
    // The 202 does not wait for admission: the sync is stored as pending, and the alarm retries it.
    this.ctx.waitUntil(this.syncScheduler());
  }

  /** Creates the job and starts it at once, without admission control (tools and tests). */
  async start(spec: JobSpec): Promise<{ started: boolean }> {
    const { created } = await this.create(spec);
    if (created) await this.admit(this.job!.meta.generation);
    return { started: created };
  }

  /** Admission control started the job (round `generation`): its ready tasks are dispatched. */
  async admit(generation: number, cost: CallerCost = {}): Promise<"started" | "stale"> {
    if (!this.job) return "stale";
    this.charge(cost);
    return this.startRound(generation, false);
  }

  /**
   * Starts round `generation` if it is the job's current one and it waits for it; "stale" otherwise. With
   * `synced` (the start came in the answer to the sync of the current meta) the pending sync is cleared in
   * the same write as the start, so a start that fails to be stored leaves the sync pending.
   */
  private async startRound(generation: number, synced: boolean): Promise<"started" | "stale"> {
    const job = this.job;
    if (!job || generation !== job.meta.generation) return "stale";
    const syncPending = synced ? false : job.meta.syncPending;
    if (job.meta.queueState === "started") {
      job.meta = { ...job.meta, syncPending };
      return "started";
    }
    if (job.meta.queueState !== "queued" && job.meta.queueState !== "scheduled") return "stale";
    const started = { type: job.state.admitted ? ("resume" as const) : ("start" as const) };
    await this.commit({ events: [started], meta: { ...job.meta, queueState: "started", startedAt: job.meta.startedAt ?? Date.now(), syncPending } });
    return "started";
  }

  /** Admission control found a scheduled job due (its run_at passed, its semaphore opened). */
  async markQueued(generation: number): Promise<void> {
    const job = this.job;
    if (!job || generation !== job.meta.generation || job.meta.queueState !== "scheduled") return;
    this.charge();
    await this.commit({ meta: { ...job.meta, queueState: "queued" } });
  }

  // ─── the client's requests (each answers as if the job did not exist for another client) ─────────────

  /** GET /jobs/{id}: the job object. */
  async view(client: string): Promise<JobView | null> {
    const job = this.owned(client);
    if (!job) return null;
    this.charge();
    return jobView(job);
  }

  /** GET /logs/{id}: the job log, oldest first. */
  async logs(client: string): Promise<LogLineView[] | null> {
    const job = this.owned(client);
    if (!job) return null;
    this.charge();
    return logView(job.spec.jobId, [...submissionLines(job.spec), ...this.store.sealedLog(), ...job.log]);
  }

  /** GET /jobs/{id}/callbacks: every callback with its attempts. */
  async deliveries(client: string): Promise<CallbackView[] | null> {
    const job = this.owned(client);
    if (!job) return null;
    this.charge();
    return deliveryView(job.deliveries.values());
  }

  /** PATCH /jobs/{id}: all of the change, or (409) none of it. */
  async change(client: string, change: JobChange): Promise<ChangeResult> {
    const job = this.owned(client);
    if (!job) return { ok: false, notFound: true };
    this.charge();
    const plan = planChange(job.meta, job.state.admitted, change, Date.now());
    if (!plan.ok) return plan;
    await this.commit({ events: plan.events, meta: plan.meta });
    return { ok: true, performed: plan.performed };
  }

  /** Retry in place: a failed or broken job runs its failed and cancelled tasks again, through admission. */
  async retryInPlace(client: string): Promise<ChangeResult> {
    const job = this.owned(client);
    if (!job) return { ok: false, notFound: true };
    this.charge();
    if (job.state.outcome !== "failed") {
      // A broken job whose tasks had all completed (e.g. the original of a rerun) has nothing to retry.
      const why = job.state.outcome === "running" ? `this one is ${job.meta.queueState}` : "every task of this one completed";
      return { ok: false, conflict: `Only a job with failed or cancelled tasks can be retried; ${why}.` };
    }
    const meta: JobMeta = { ...job.meta, queueState: "queued", generation: job.meta.generation + 1, runAt: null, semaphoreUrl: null, syncPending: true };
    await this.commit({ events: [{ type: "restart" }], meta });
    return { ok: true, performed: ["retry"] };
  }

  /** A rerun replaced this job: it becomes `broken` (a running job is cancelled first, with its callbacks). */
  async markBroken(): Promise<void> {
    const job = this.job;
    if (!job || job.meta.queueState === "broken") return;
    this.charge();
    const events = isEnded(job.meta.queueState) ? [] : [{ type: "cancel" as const, message: "job cancelled: replaced by a rerun" }];
    await this.commit({ events, meta: { ...job.meta, queueState: "broken", syncPending: true } });
  }

  /** The job's spec (a rerun copies it), for its own client only. */
  async spec(client?: string): Promise<JobSpec | null> {
    const job = client === undefined ? this.job : this.owned(client);
    return job?.spec ?? null;
  }

  /**
   * POST /jobs/{id}/rerun: names this job's one replacement. The first call records `candidateId` and gets
   * it back with `first`; every later (or concurrent: this object takes one call at a time) call gets the
   * recorded id, so repeated reruns of one job make one job. Recorded before the replacement is created: a
   * rerun request that dies in between is finished by the next one, under the same id.
   */
  async rerunAs(candidateId: string): Promise<{ id: string; first: boolean } | null> {
    const job = this.job;
    if (!job) return null;
    this.charge();
    if (job.meta.replacedBy !== undefined) return { id: job.meta.replacedBy, first: false };
    await this.commit({ meta: { ...job.meta, replacedBy: candidateId } });
    return { id: candidateId, first: true };
  }

  /** A new attempt series for a delivered or failed callback (same webhook-id), in its endpoint's order. */
  async redeliver(client: string, id: string): Promise<{ ok: boolean; reason: string; notFound?: boolean }> {
    const job = this.owned(client);
    if (!job) return { ok: false, reason: "unknown job", notFound: true };
    this.charge();
    if (!job.outbox.get(id)) return { ok: false, reason: "unknown callback" };
    const outcome = await this.commit({ redeliver: id });
    return outcome.redelivered ? { ok: true, reason: "" } : { ok: false, reason: "callback is still being delivered" };
  }

  // ─── the consumers' reports ─────────────────────────────────────────────────────────────────────────

  /** A consumer asks to run an attempt it received; stale and duplicate claims are refused. */
  async claim(task: string, attempt: number, cost: CallerCost = {}): Promise<ClaimResult> {
    if (!this.job) return { ok: false, reason: "unknown job" };
    this.charge(cost);
    const outcome = await this.commit({ events: [{ type: "claim", task, attempt }] });
    if (!outcome.applied) return { ok: false, reason: outcome.reason };
    return { ok: true, assignment: this.assignment(task) };
  }

  /** Reports a successful attempt. With `takeNext`, returns one newly ready task for the caller to run. */
  async complete(task: string, attempt: number, output: unknown, takeNext = false, cost: CallerCost = {}): Promise<TaskAssignment | null> {
    if (!this.job) return null;
    this.charge(cost);
    const outcome = await this.commit({ events: [{ type: "complete", task, attempt, output, takeNext }] });
    return outcome.handoff ? this.assignment(outcome.handoff) : null;
  }

  async fail(task: string, attempt: number, error: string, retryable: boolean, cost: CallerCost = {}): Promise<void> {
    if (!this.job) return;
    this.charge(cost);
    await this.commit({ events: [{ type: "fail", task, attempt, error, retryable }] });
  }

  // ─── remote workers (workers.md) ────────────────────────────────────────────────────────────────────

  /**
   * A worker of the task's pool takes an attempt the pool handed out, under the digest of the lease token the
   * worker API made for it; refused when the offer is stale (paused, broken, retried, already taken).
   */
  async claimRemote(task: string, attempt: number, leaseDigest: string, cost: CallerCost = {}): Promise<{ ok: true; assignment: RemoteAssignment } | { ok: false; reason: string }> {
    if (!this.job) return { ok: false, reason: "unknown job" };
    this.charge(cost);
    const outcome = await this.commit({ events: [{ type: "claim", task, attempt, lease: leaseDigest }] });
    if (!outcome.applied) return { ok: false, reason: outcome.reason };
    const state = this.job.state.tasks[task]!;
    return { ok: true, assignment: { ...this.assignment(task), deadline: state.deadline!, pool: state.pool!, roots: this.fileRoots(task) } };
  }

  /** A call a worker makes on its lease: a heartbeat, its report, or a look at it before a file transfer. */
  async workerCall(task: string, attempt: number, leaseDigest: string, caller: WorkerCaller, call: WorkerCall): Promise<WorkerAnswer> {
    const job = this.job;
    if (!job) return { status: "unknown" };
    // A token of another pool, or scoped to another client, learns nothing of the lease.
    if (job.state.tasks[task]?.pool !== caller.pool || (caller.client !== null && caller.client !== job.spec.client)) return { status: "unknown" };
    const standing = leaseStanding(job.state, task, attempt, (digest) => matchesAnyDigest(leaseDigest, [digest]));
    if (standing.kind === "unknown") return { status: "unknown" };
    this.charge();
    if (call.type === "heartbeat") {
      if (standing.kind === "ended") return { status: "ok", cancel: true, deadline: null };
      await this.commit({ events: [{ type: "heartbeat", task, attempt, progress: call.progress, phase: call.phase }] });
      const now = this.job!.state.tasks[task]!;
      return { status: "ok", cancel: now.status !== "running", deadline: now.deadline };
    }
    if (call.type === "look") {
      if (standing.kind === "ended") return { status: "conflict", message: endedMessage(standing.task, attempt) };
      return { status: "ok", cancel: false, deadline: standing.task.deadline, client: job.spec.client, roots: this.fileRoots(task) };
    }
    if (standing.kind === "ended") {
      if (standing.sameAttempt && repeatsEndingReport(standing.task, call)) return { status: "ok", cancel: false, deadline: null };
      return { status: "conflict", message: endedMessage(standing.task, attempt) };
    }
    // The attempt's files are in its own work folder (a stale lease cannot overwrite a later attempt's):
    // its output says which, for the tasks that use them.
    const event =
      call.type === "complete"
        ? { type: "complete" as const, task, attempt, output: { ...(isPlainObject(call.output) ? call.output : { value: call.output ?? null }), work_folder: attemptFolder(task, attempt) } }
        : { type: "fail" as const, task, attempt, error: call.error, retryable: call.retryable };
    const outcome = await this.commit({ events: [event] });
    return outcome.applied ? { status: "ok", cancel: false, deadline: null } : { status: "conflict", message: outcome.reason ?? "the attempt has ended" };
  }

  async progress(task: string, attempt: number, progress: number): Promise<void> {
    if (!this.job) return;
    this.charge();
    await this.commit({ events: [{ type: "progress", task, attempt, progress }] });
  }

  /**
   * Records the attempts of a run of callbacks (in one transaction). With `takeNext`, returns the next run
   * of the same endpoint when it is due now, for the caller to deliver at once (its lease still guards it).
   */
  async recordDeliveries(endpoint: string, reports: DeliveryReport[], takeNext = false, cost: CallerCost = {}): Promise<CallbackMessage | null> {
    if (!this.job) return null;
    this.charge(cost);
    const attempted = reports.filter((report): report is DeliveryReport & { record: AttemptRecord } => report.record !== null);
    const handedBack = reports.filter((report) => report.record === null);
    const releases = handedBack.map(({ id, attempt }) => ({ id, attempt }));
    const outcome = await this.commit({ reports: attempted, releases }, (sends) => (takeNext ? sends.filter((send) => send.endpoint === endpoint) : []));
    return outcome.inline;
  }

  /** The callback body of a delivery (the same bytes each attempt), for the consumer that delivers it. */
  async callbackBody(id: string): Promise<string | null> {
    if (!this.job) return null;
    this.charge();
    return this.bodyOf(id);
  }

  // ─── the watchdog, retention and inspection ─────────────────────────────────────────────────────────

  /** Watchdog: expired leases, due retries, lost callbacks, an unwritten index row, an unacknowledged sync. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const job = this.job;
    if (!job) return;
    this.charge();
    await this.commit({ events: [{ type: "tick" }], tickOutbox: true });
    if (indexPending(job) && !(await this.index.write())) await this.ensureAlarm(Date.now() + RETRY_MS);
    await this.syncScheduler();
    await this.ensureAlarm();
    // A late cost (this alarm) after the job's cost was reported: the newer line counts.
    if (job.costReported) this.reportCost();
  }

  /** Deletes the storage of an ended job whose callbacks are settled (retention). */
  async purge(): Promise<{ purged: boolean }> {
    if (this.job && (this.job.state.outcome === "running" || !this.job.outbox.settled())) return { purged: false };
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.store = new JobStore(this.ctx.storage.sql);
    this.job = null;
    this.alarmAt = null;
    return { purged: true };
  }

  /** The coordinator's view of the job, for tests and diagnostics. */
  async snapshot(): Promise<{ spec: JobSpec; state: JobModel["state"]; meta: JobMeta; outbox: ReturnType<Outbox["all"]>; ledger: CostLedger; updatedAt: number; indexPending: boolean } | null> {
    const job = this.job;
    if (!job) return null;
    return { spec: job.spec, state: job.state, meta: job.meta, outbox: job.outbox.all(), ledger: job.ledger, updatedAt: job.updatedAt, indexPending: indexPending(job) };
  }

  // ─── the adapter ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Applies a change: job-writes.ts works out what to store, which is stored in one transaction; then the
   * alarm is armed and the effects started. `inline` picks sends the caller delivers itself.
   */
  private async commit(input: ChangeInput, inline?: (sends: Send[]) => Send[]): Promise<ChangeOutcome & { inline: CallbackMessage | null }> {
    const job = this.job!;
    const outcome = applyChange(job, input, Date.now());
    if (outcome.writes) {
      const writes = outcome.writes;
      this.ctx.storage.transactionSync(() => this.store.write(writes));
    }
    const taken = inline ? inline(outcome.sends) : [];
    await this.ensureAlarm();
    const sends = outcome.sends.filter((send) => !taken.includes(send));
    this.ctx.waitUntil(this.performEffects(outcome, sends));
    return { ...outcome, inline: taken.length > 0 ? this.run(taken, Infinity) : null };
  }

  /** Starts the effects of a stored change: tasks and callbacks go out, the index row and admission follow. */
  private async performEffects(outcome: ChangeOutcome, sends: Send[]): Promise<void> {
    const job = this.job;
    if (!job) return;
    try {
      const edge = outcome.dispatches.filter((dispatch) => job.state.tasks[dispatch.task]?.pool === undefined);
      const dispatches: TaskMessage[] = edge.map((dispatch) => ({ jobId: job.spec.jobId, ...dispatch }));
      for (let i = 0; i < dispatches.length; i += 100) await this.send(this.env.TASK_QUEUE, dispatches.slice(i, i + 100));
      await this.offerToPools(outcome.dispatches.filter((dispatch) => !edge.includes(dispatch)));
    } catch (error) {
      // The tasks stay `dispatched` with a lease: the alarm dispatches them again.
      this.logError(`task dispatch failed: ${String(error)}`);
    }
    try {
      const byEndpoint = new Map<string, Send[]>();
      for (const send of sends) byEndpoint.set(send.endpoint, [...(byEndpoint.get(send.endpoint) ?? []), send]);
      const runs = [...byEndpoint.values()].map((run) => this.run(run, MAX_INLINE_BODY_CHARS));
      for (const batch of queueBatches(runs.map((body) => ({ body })))) await this.send(this.env.CALLBACK_QUEUE, batch.map((message) => message.body));
    } catch (error) {
      // The callbacks stay in flight with a lease: the alarm sends them again.
      this.logError(`callback send failed: ${String(error)}`);
    }
    await this.syncScheduler();
    if (outcome.reportCost) this.reportCost();
    // Its files are published and nothing will run again (a rerun is a new job): the work folder goes. A
    // failed job keeps it for a retry in place; retention removes it (schedules.ts).
    if (outcome.completed && job.workflow.usesWorkFolder) {
      await workFolder(this.env.MEDIA, job.spec.jobId).clear().catch((error: unknown) => this.logError(`work folder not cleared: ${String(error)}`));
    }
  }

  /** Offers remote tasks to their pools (one request per pool). */
  private async offerToPools(dispatches: { task: string; attempt: number }[]): Promise<void> {
    const job = this.job!;
    const byPool = new Map<string, PoolOffer[]>();
    for (const { task, attempt } of dispatches) {
      const pool = job.state.tasks[task]!.pool!;
      const offer: PoolOffer = { jobId: job.spec.jobId, task, attempt, client: job.spec.client, priority: job.meta.priority, submittedAt: job.spec.createdAt };
      byPool.set(pool, [...(byPool.get(pool) ?? []), offer]);
    }
    for (const [pool, offers] of byPool) {
      await workerPoolFor(this.env.WORKER_POOL, pool).offer(offers);
      this.charge({ doRequests: 1 }, false);
    }
  }

  private async send<Body>(queue: Queue<Body>, bodies: Body[]): Promise<void> {
    if (bodies.length === 0) return;
    await queue.sendBatch(bodies.map((body) => ({ body })));
    this.charge({ queueMessages: bodies.length, queueUnits: bodies.reduce((units, body) => units + queueUnitsOf(JSON.stringify(body).length), 0) }, false);
  }

  /** A run's message; bodies beyond `maxBodyChars` in all are left out, for the consumer to fetch. */
  private run(sends: Send[], maxBodyChars: number): CallbackMessage {
    const job = this.job!;
    let budget = maxBodyChars;
    const deliveries = sends.map((send) => {
      const entry = job.outbox.get(send.id)!;
      const stored = budget > 0 ? this.bodyOf(send.id) : null;
      const body = stored !== null && stored.length <= budget ? stored : null;
      if (body !== null) budget -= body.length;
      return { id: send.id, attempt: send.attempt, body, ...(entry.truncated ? { truncated: true } : {}) };
    });
    return { jobId: job.spec.jobId, client: job.spec.client, endpoint: sends[0]!.endpoint, deliveries };
  }

  /** A callback's body: in the head, in its own row, or in the chunk it was sealed into. */
  private bodyOf(id: string): string | null {
    const job = this.job!;
    const held = job.headBodies.get(id);
    if (held !== undefined) return held;
    const entry = job.outbox.get(id);
    return entry ? this.store.callbackBody(id, entry.sequence, endpointIndexOf(id)) : null;
  }

  /** Tells the client's admission control the job's current state; the latest change wins. */
  private async syncScheduler(): Promise<void> {
    const job = this.job;
    if (!job?.meta.syncPending) return;
    const sent = job.meta;
    const { jobId, client, createdAt } = job.spec;
    const sync: SchedulerSync =
      sent.queueState === "scheduled" || sent.queueState === "queued" || sent.queueState === "started"
        ? { jobId, generation: sent.generation, kind: "waiting", priority: sent.priority, submittedAt: createdAt, runAt: sent.runAt, semaphoreUrl: sent.semaphoreUrl }
        : { jobId, generation: sent.generation, kind: "gone" };
    try {
      const answer = await admissionControlFor(this.env.CLIENT_SCHEDULER, client).sync(sync, this.schedulerConfig);
      this.schedulerConfig = undefined;
      // A request to the scheduler, made for this job, and the rows it wrote for it.
      this.charge({ doRequests: 1, doRowsWritten: answer.rowsWritten }, false);
      const current = job.meta === sent;
      if (answer.start === undefined) {
        // Acknowledged: the flag is cleared in memory and stored with the next write (a restart syncs again, harmlessly).
        if (current) job.meta = { ...sent, syncPending: false };
      } else if ((await this.startRound(answer.start, current)) === "stale") {
        // The scheduler gave a slot to a round this job has left (a pause or a rerun raced the sync): it is
        // told where the job stands now, which frees the slot.
        job.meta = { ...job.meta, syncPending: true };
        this.ctx.waitUntil(this.syncScheduler());
      }
    } catch (error) {
      this.logError(`admission sync failed; the alarm retries: ${String(error)}`);
      await this.ensureAlarm(Date.now() + RETRY_MS);
    }
  }

  /** Arms the alarm for the earliest deadline, if that is earlier than the one already armed. */
  private async ensureAlarm(extra: number | null = null): Promise<void> {
    const job = this.job;
    if (!job) return;
    const candidates = [nextTaskDeadline(job.state), job.outbox.nextDue(), extra];
    // The index row is written by the alarm, a moment after the first change of a moment (coalesced).
    if (indexPending(job)) candidates.push(Date.now() + INDEX_DELAY_MS);
    if (job.meta.syncPending) candidates.push(Date.now() + PENDING_CHECK_MS);
    const wake = candidates.reduce<number | null>((min, at) => (at !== null && (min === null || at < min) ? at : min), null);
    if (wake === null || (this.alarmAt !== null && this.alarmAt <= wake)) return;
    this.alarmAt = wake;
    await this.ctx.storage.setAlarm(wake);
    this.store.countRowWritten();
    this.charge({}, false);
  }

  /** The client storage folders a remote task's lease may read (its definition's `fileRoots`). */
  private fileRoots(task: string): Record<string, FileRoot> {
    const job = this.job!;
    return job.definitions.get(task)?.fileRoots?.(job.spec.parameters) ?? {};
  }

  private assignment(task: string): TaskAssignment {
    const job = this.job!;
    const state = job.state.tasks[task]!;
    const definition = job.definitions.get(task);
    const input = definition?.input ? definition.input(job.spec.parameters, taskOutputs(job.state)) : job.spec.parameters;
    return {
      jobId: job.spec.jobId,
      client: job.spec.client,
      workflow: job.spec.workflow,
      task,
      taskId: state.id,
      attempt: state.attempt,
      executor: state.executor,
      input,
      timeoutMs: state.timeoutMs,
    };
  }

  // ─── the model ──────────────────────────────────────────────────────────────────────────────────────

  private owned(client: string): JobModel | null {
    return this.job && this.job.spec.client === client ? this.job : null;
  }

  // ─── cost and the index row ─────────────────────────────────────────────────────────────────────────

  /**
   * Adds to the job's cost ledger what the caller reports, the rows this object wrote since, and (for a
   * request into this object, the default) one Durable Object request.
   */
  private charge(cost: CallerCost = {}, request = true): void {
    const job = this.job;
    if (!job) return;
    job.ledger = addCost(job.ledger, { doRequests: request ? 1 : 0 }, cost, { doRowsWritten: this.store.takeRowsWritten() });
  }

  private indexRow() {
    const job = this.job!;
    const result = job.state.outcome === "completed" ? jobResult(job.workflow, job.spec, job.state) : null;
    return { statement: jobIndexRow(job.spec, job.state, job.meta, jobProgress(job.state), result, job.updatedAt), version: job.indexVersion };
  }

  /** The D1 row holds `version`: noted in storage, so that a restart does not write it again. */
  private indexWritten(version: number, meta: D1Meta): void {
    const job = this.job;
    if (!job) return;
    if (version > job.indexedVersion) {
      job.indexedVersion = version;
      this.store.putIndexed(version);
    }
    this.charge({ d1RowsWritten: meta.rows_written, d1RowsRead: meta.rows_read }, false);
  }

  /** Logs the job's cost: once when it ended and its callbacks settled, again if a later cost came. */
  private reportCost(): void {
    const job = this.job;
    if (!job) return;
    this.charge({}, false);
    console.log(JSON.stringify({ level: "info", message: "job cost", job_id: job.spec.jobId, client: job.spec.client, workflow: job.spec.workflow, cost: job.ledger }));
  }

  private logError(message: string): void {
    console.error(JSON.stringify({ level: "error", message, job_id: this.job?.spec.jobId, client: this.job?.spec.client }));
  }
}
