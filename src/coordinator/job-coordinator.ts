import { DurableObject } from "cloudflare:workers";
import { engineConfig, type EngineConfig } from "../config";
import { attemptRow, callbackRow, jobRow, logRow, taskRow, type AttemptRecord } from "../db/projection";
import type { Statement } from "../db/statement";
import { initialJobState, nextTaskDeadline } from "../domain/job-graph";
import type { Effect, JobEvent } from "../domain/job-events";
import { isEnded, planChange, waitingState, type JobChange, type JobMeta } from "../domain/job-management";
import { jobProgress, type JobState } from "../domain/job-state";
import { Outbox, type OutboxChange, type OutboxEntry, type Send } from "../domain/outbox";
import { transition } from "../domain/transition";
import { withQueueFaults } from "../faults/queue-faults";
import { queueBatches } from "../queues/batches";
import { MAX_INLINE_BODY_CHARS, type CallbackMessage, type TaskMessage } from "../queues/messages";
import type { SchedulerSync } from "../scheduler/client-scheduler";
import type { SchedulerConfig } from "../scheduler/scheduler-config";
import { schedulerFor } from "../scheduler/stub";
import type { TaskDefinition, Workflow } from "../workflows/definition";
import { findWorkflow } from "../workflows/registry";
import type { ClaimResult, JobSpec, TaskAssignment } from "./job-spec";
import { JobStore } from "./job-store";
import { callbacksFor, jobResult, taskOutputs } from "./notices";
import { planTasks } from "./planning";
import { ProjectionFlusher } from "./projection-flusher";

/** If a D1 write or a scheduler sync fails, the alarm tries again after this long. */
const RETRY_MS = 2_000;
/** How long delivery-log rows may wait to share one D1 write with the rest of their callback chain. */
const LOG_FLUSH_DELAY_MS = 100;

interface LoadedJob {
  spec: JobSpec;
  state: JobState;
  meta: JobMeta;
  outbox: Outbox;
  workflow: Workflow;
  definitions: ReadonlyMap<string, TaskDefinition<unknown>>;
}

/** Work that may start once a change is persisted. */
interface AfterCommit {
  dispatches: TaskMessage[];
  sends: Send[];
}

/** A callback attempt a consumer delivers itself (without a queue hop). */
export type Delivery = CallbackMessage;

export type ChangeResult = { ok: true; performed: string[] } | { ok: false; conflict: string };

/**
 * The source of truth of one job: its task graph, attempts and leases, its admission state and its
 * callback outbox. A thin adapter around the pure reducer (`transition`), `Outbox` and `planChange`:
 * every change is persisted in this object's SQLite storage before any effect (queue send, D1 write,
 * callback, admission sync) is performed.
 */
export class JobCoordinator extends DurableObject<Env> {
  private store: JobStore;
  private readonly config: EngineConfig;
  private readonly flusher: ProjectionFlusher;
  private job: LoadedJob | null = null;
  private alarmAt: number | null = null;
  /** Admission settings handed over at creation, for the job's first sync. */
  private schedulerConfig: SchedulerConfig | undefined;
  /**
   * For each callback not yet sent: the newest projection statement of the transition that made it. It may
   * leave once D1 holds that row, so a receiver that reads the job sees what it says. (After a restart the
   * map is empty and a callback waits for every pending row, which is merely slower.)
   */
  private readonly callbackRowsThrough = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: Env) {
    // Test-only fault injection on the queue producers; `env` itself in every build but the chaos drill's.
    super(ctx, withQueueFaults(env));
    this.config = engineConfig(env);
    this.store = new JobStore(ctx.storage.sql);
    this.flusher = new ProjectionFlusher(env.DB, () => this.store, (message) => this.logError(message));
    void ctx.blockConcurrencyWhile(async () => {
      const stored = this.store.load();
      if (stored) this.job = this.loaded(stored.spec, stored.state, stored.meta, stored.outbox);
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /**
   * Creates the job: persists its spec and task graph, writes its D1 rows (awaited, so the job can be read
   * as soon as this returns) and hands it to its client's admission control. Calling it again creates nothing;
   * it finishes what a first call cut short left pending.
   */
  async create(spec: JobSpec, scheduler?: SchedulerConfig): Promise<{ created: boolean }> {
    if (this.job) {
      // A repeat (an idempotent resubmission after the first request died): the first call may have been cut
      // short before its D1 rows or admission sync went out, so the repeat finishes them before it answers.
      await this.finishCreation();
      return { created: false };
    }
    this.schedulerConfig = scheduler;
    const now = Date.now();
    this.initialise(spec, {
      queueState: waitingState(spec.runAt === null ? null : Date.parse(spec.runAt), spec.semaphoreUrl ?? null, now),
      priority: spec.priority,
      runAt: spec.runAt === null ? null : Date.parse(spec.runAt),
      semaphoreUrl: spec.semaphoreUrl ?? null,
      persist: spec.persist,
      generation: 1,
      startedAt: null,
      syncPending: scheduler !== undefined,
    });
    await this.finishCreation();
    return { created: true };
  }

  /**
   * Writes the job's D1 rows (awaited, so the job can be read once create returns) and hands it to admission
   * control. The alarm is armed first, before any effect: should the runtime die during the D1 write, the
   * alarm still writes the rows and makes the sync, or the stored job would wait for nothing, forever.
   */
  private async finishCreation(): Promise<void> {
    await this.ensureAlarm();
    if (!(await this.flusher.flush())) await this.ensureAlarm(Date.now() + RETRY_MS);
    // The 202 does not wait for admission: the sync is persisted as pending, and the alarm retries it.
    this.ctx.waitUntil(this.syncScheduler());
  }

  /** Creates the job and starts it at once, without admission control (tools and tests). */
  async start(spec: JobSpec): Promise<{ started: boolean }> {
    const { created } = await this.create(spec);
    if (created) await this.admit(this.job!.meta.generation);
    return { started: created };
  }

  /** Admission control started the job (round `generation`): its ready tasks are dispatched. */
  async admit(generation: number): Promise<"started" | "stale"> {
    const job = this.job;
    if (!job || generation !== job.meta.generation) return "stale";
    if (job.meta.queueState === "started") return "started";
    if (job.meta.queueState !== "queued" && job.meta.queueState !== "scheduled") return "stale";
    const now = Date.now();
    const event: JobEvent = job.state.admitted ? { type: "resume" } : { type: "start" };
    await this.commit([event], { ...job.meta, queueState: "started", startedAt: job.meta.startedAt ?? now });
    return "started";
  }

  /** Admission control found a scheduled job due (its run_at passed, its semaphore opened). */
  async markQueued(generation: number): Promise<void> {
    const job = this.job;
    if (!job || generation !== job.meta.generation || job.meta.queueState !== "scheduled") return;
    await this.commit([], { ...job.meta, queueState: "queued" });
  }

  /** PATCH /jobs/{id}: all of the change, or (409) none of it. */
  async change(change: JobChange): Promise<ChangeResult> {
    const job = this.job;
    if (!job) return { ok: false, conflict: "unknown job" };
    const plan = planChange(job.meta, job.state.admitted, change, Date.now());
    if (!plan.ok) return plan;
    await this.commit(plan.events, plan.meta);
    return { ok: true, performed: plan.performed };
  }

  /** Retry in place: a failed or broken job runs its failed and cancelled tasks again, through admission. */
  async retryInPlace(): Promise<ChangeResult> {
    const job = this.job;
    if (!job) return { ok: false, conflict: "unknown job" };
    if (job.state.outcome !== "failed") {
      // A broken job whose tasks had all completed (e.g. the original of a rerun) has nothing to retry.
      const why = job.state.outcome === "running" ? `this one is ${job.meta.queueState}` : "every task of this one completed";
      return { ok: false, conflict: `Only a job with failed or cancelled tasks can be retried; ${why}.` };
    }
    const meta: JobMeta = { ...job.meta, queueState: "queued", generation: job.meta.generation + 1, runAt: null, semaphoreUrl: null, syncPending: true };
    await this.commit([{ type: "restart" }], meta);
    return { ok: true, performed: ["retry"] };
  }

  /** A rerun replaced this job: it becomes `broken` (a running job is cancelled first, with its callbacks). */
  async markBroken(): Promise<void> {
    const job = this.job;
    if (!job || job.meta.queueState === "broken") return;
    const events: JobEvent[] = isEnded(job.meta.queueState) ? [] : [{ type: "cancel", message: "job cancelled: replaced by a rerun" }];
    await this.commit(events, { ...job.meta, queueState: "broken", syncPending: true });
  }

  /** The job's spec, for a rerun. */
  async spec(): Promise<JobSpec | null> {
    return this.job?.spec ?? null;
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
    if (job.meta.replacedBy !== undefined) return { id: job.meta.replacedBy, first: false };
    job.meta = { ...job.meta, replacedBy: candidateId };
    this.store.saveJob(job.spec, job.state, job.meta);
    return { id: candidateId, first: true };
  }

  /** A consumer asks to run an attempt it received; stale and duplicate claims are refused. */
  async claim(task: string, attempt: number): Promise<ClaimResult> {
    if (!this.job) return { ok: false, reason: "unknown job" };
    const outcome = await this.commit([{ type: "claim", task, attempt }]);
    if (!outcome.applied) return { ok: false, reason: outcome.reason };
    return { ok: true, assignment: this.assignment(task) };
  }

  /** Reports a successful attempt. With `takeNext`, returns one newly ready task for the caller to run. */
  async complete(task: string, attempt: number, output: unknown, takeNext = false): Promise<TaskAssignment | null> {
    if (!this.job) return null;
    return (await this.commit([{ type: "complete", task, attempt, output, takeNext }])).handoff;
  }

  async fail(task: string, attempt: number, error: string, retryable: boolean): Promise<void> {
    if (this.job) await this.commit([{ type: "fail", task, attempt, error, retryable }]);
  }

  async progress(task: string, attempt: number, progress: number): Promise<void> {
    if (this.job) await this.commit([{ type: "progress", task, attempt, progress }]);
  }

  /**
   * Records one delivery attempt of a callback. With `takeNext`, returns the next callback for the same
   * endpoint when it is due now, for the caller to deliver at once (its lease still guards it).
   */
  async recordDelivery(id: string, attempt: number, record: AttemptRecord, takeNext = false): Promise<Delivery | null> {
    const job = this.job;
    const entry = job?.outbox.get(id);
    if (!job || !entry) return null;
    const now = Date.now();
    const change = job.outbox.recordAttempt(id, attempt, record, now);
    const inline = takeNext ? change.sends.find((send) => send.endpoint === entry.endpoint) : undefined;
    // The attempt rows only feed the delivery log: along a chain they go to D1 together, a moment later.
    await this.commitOutbox(change, now, [attemptRow(job.spec.jobId, id, attempt, record)], inline, LOG_FLUSH_DELAY_MS);
    if (!inline) return null;
    await this.rowsWrittenFor([inline]);
    return this.delivery(inline);
  }

  /** A new attempt series for a delivered or failed callback (same webhook-id), in its endpoint's order. */
  async redeliver(id: string): Promise<{ ok: boolean; reason: string }> {
    const job = this.job;
    if (!job || !job.outbox.get(id)) return { ok: false, reason: "unknown callback" };
    const now = Date.now();
    const change = job.outbox.redeliver(id, now);
    if (!change) return { ok: false, reason: "callback is still being delivered" };
    await this.commitOutbox(change, now, []);
    return { ok: true, reason: "" };
  }

  /** Watchdog: expired leases, due retries, lost callbacks, unflushed D1 rows, unacknowledged admission syncs. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const job = this.job;
    if (!job) return;
    await this.commit([{ type: "tick" }]);
    const now = Date.now();
    await this.commitOutbox(job.outbox.tick(now), now, []);
    await this.flusher.flush();
    await this.syncScheduler();
    await this.ensureAlarm();
  }

  /** Deletes the storage of an ended job whose callbacks are settled (retention). */
  async purge(): Promise<{ purged: boolean }> {
    if (this.job && (this.job.state.outcome === "running" || !this.job.outbox.settled())) return { purged: false };
    this.flusher.cancel();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.store = new JobStore(this.ctx.storage.sql);
    this.job = null;
    this.alarmAt = null;
    return { purged: true };
  }

  /** The coordinator's view of the job, for tests and diagnostics. */
  async snapshot(): Promise<{ spec: JobSpec; state: JobState; meta: JobMeta; outbox: OutboxEntry[] } | null> {
    if (!this.job) return null;
    return { spec: this.job.spec, state: this.job.state, meta: this.job.meta, outbox: this.job.outbox.all() };
  }

  private loaded(spec: JobSpec, state: JobState, meta: JobMeta, outbox: OutboxEntry[]): LoadedJob {
    const workflow = findWorkflow(spec.workflow);
    if (!workflow) throw new Error(`workflow ${spec.workflow} is no longer known`);
    const definitions = new Map(workflow.tasks(spec.parameters).map((definition) => [definition.name, definition]));
    const policy = { scheduleMs: spec.callbackScheduleMs, inFlightLeaseMs: this.config.callbackTimeoutMs + this.config.leaseGraceMs };
    return { spec, state, meta, outbox: new Outbox(outbox, policy), workflow, definitions };
  }

  /** Persists a new job with every task row (pending or skipped), so the job object shows the whole graph. */
  private initialise(spec: JobSpec, meta: JobMeta): void {
    const workflow = findWorkflow(spec.workflow);
    if (!workflow) throw new Error(`unknown workflow ${spec.workflow}`);
    const initial = initialJobState({
      jobId: spec.jobId,
      client: spec.client,
      workflow: spec.workflow,
      contentId: spec.contentId,
      tasks: planTasks(workflow, spec),
      createdAt: spec.createdAt,
      dispatchLeaseMs: this.config.dispatchLeaseMs,
      leaseGraceMs: this.config.leaseGraceMs,
    });
    // The API's submission lines take the first log numbers.
    const state = { ...initial, nextLogSeq: 1 + spec.submissionLog.length };
    this.job = this.loaded(spec, state, meta, []);
    const statements: Statement[] = [
      jobRow(spec, state, meta, 0, null, spec.createdAt),
      ...spec.submissionLog.map((line, index) => logRow(spec.jobId, { seq: index + 1, taskId: null, time: spec.createdAt, ...line }, "api")),
      ...state.order.map((name, position) => taskRow(spec.jobId, state.tasks[name]!, position)),
    ];
    this.ctx.storage.transactionSync(() => {
      this.store.saveJob(spec, state, meta);
      state.order.forEach((name, position) => this.store.saveTask(state.tasks[name]!, position));
      this.store.appendProjection(statements);
    });
  }

  /**
   * Applies reducer events and a new meta as one change: the new state, changed tasks, new callbacks and
   * their D1 statements are persisted in one storage transaction; then the effects are started.
   */
  private async commit(events: JobEvent[], nextMeta?: JobMeta): Promise<{ applied: boolean; reason: string; handoff: TaskAssignment | null }> {
    const job = this.job!;
    const now = Date.now();
    const before = job.state;
    let state = before;
    let reason = "";
    const effects: Effect[] = [];
    for (const event of events) {
      const result = transition(state, event, now);
      if (result.applied) {
        state = result.state;
        effects.push(...result.effects);
      } else {
        reason = result.reason ?? "ignored";
      }
    }
    let meta = nextMeta ?? job.meta;
    if (effects.some((effect) => effect.type === "ended")) {
      meta = { ...meta, queueState: meta.queueState === "broken" ? "broken" : "completed", syncPending: true };
    }
    if (state === before && meta === job.meta) return { applied: false, reason, handoff: null };
    const metaChanged = meta !== job.meta;
    job.state = state;
    job.meta = meta;

    const after: AfterCommit = { dispatches: [], sends: [] };
    const statements: Statement[] = [];
    const newCallbacks: { entry: OutboxEntry; body: string }[] = [];
    let handoff: TaskAssignment | null = null;
    for (const effect of effects) {
      if (effect.type === "dispatch") after.dispatches.push({ jobId: job.spec.jobId, task: effect.task, attempt: effect.attempt });
      else if (effect.type === "handoff") handoff = this.assignment(effect.task);
      else if (effect.type === "log") {
        const taskId = effect.task === null ? null : (state.tasks[effect.task]?.id ?? null);
        statements.push(logRow(job.spec.jobId, { ...effect, taskId }));
      } else if (effect.type === "notify") newCallbacks.push(...callbacksFor(effect.notice, job.spec, state, job.workflow, job.definitions));
    }
    const bodies = new Map(newCallbacks.map((callback) => [callback.entry.id, callback.body]));
    const change = job.outbox.enqueue(
      newCallbacks.map((callback) => callback.entry),
      now,
    );
    after.sends = change.sends;
    this.ctx.storage.transactionSync(() => {
      this.store.saveJob(job.spec, state, meta);
      state.order.forEach((name, position) => {
        const task = state.tasks[name]!;
        if (task.version <= before.version) return;
        this.store.saveTask(task, position);
        statements.push(taskRow(job.spec.jobId, task, position));
      });
      for (const entry of change.changed) {
        this.store.saveOutboxEntry(entry, bodies.get(entry.id));
        statements.push(callbackRow(job.spec.jobId, entry, now, now));
      }
      const progressed = jobProgress(before) !== jobProgress(state) || before.outcome !== state.outcome || before.paused !== state.paused;
      if (metaChanged || progressed) {
        const result = state.outcome === "completed" ? jobResult(job.workflow, job.spec, state) : null;
        statements.push(jobRow(job.spec, state, meta, jobProgress(state), result, now));
      }
      this.store.appendProjection(statements);
      const rowsThrough = this.store.newestProjectionId();
      for (const { entry } of newCallbacks) this.callbackRowsThrough.set(entry.id, rowsThrough);
    });
    await this.ensureAlarm();
    this.ctx.waitUntil(this.performEffects(after));
    return { applied: state !== before, reason, handoff };
  }

  /** Persists an outbox change with its D1 rows, then sends what it started (except the one delivered inline). */
  private async commitOutbox(change: OutboxChange, now: number, extra: Statement[], inline?: Send, rowsDelayMs?: number): Promise<void> {
    const job = this.job!;
    if (change.changed.length === 0 && extra.length === 0) return;
    this.ctx.storage.transactionSync(() => {
      for (const entry of change.changed) this.store.saveOutboxEntry(entry);
      this.store.appendProjection([...extra, ...change.changed.map((entry) => callbackRow(job.spec.jobId, entry, job.spec.createdAt, now))]);
    });
    await this.ensureAlarm();
    const sends = change.sends.filter((send) => send !== inline);
    if (rowsDelayMs !== undefined && sends.length === 0) this.flusher.flushSoon(rowsDelayMs);
    else this.ctx.waitUntil(this.performEffects({ dispatches: [], sends }));
  }

  /**
   * Starts the effects of a persisted change: tasks go out at once; D1 rows are written; callbacks leave
   * once the rows of the transitions that made them are in D1, so a receiver that reads the job sees what
   * they say; admission control hears of the change last (it is off every callback's path).
   */
  private async performEffects(after: AfterCommit): Promise<void> {
    try {
      for (let i = 0; i < after.dispatches.length; i += 100) {
        await this.env.TASK_QUEUE.sendBatch(after.dispatches.slice(i, i + 100).map((body) => ({ body })));
      }
    } catch (error) {
      // The tasks stay `dispatched` with a lease: the alarm dispatches them again.
      this.logError(`task dispatch failed: ${String(error)}`);
    }
    const flushed = this.flusher.flush();
    if (after.sends.length > 0) {
      await this.rowsWrittenFor(after.sends);
      try {
        const messages = after.sends.map((send) => ({ body: this.delivery(send, MAX_INLINE_BODY_CHARS) }));
        for (const batch of queueBatches(messages)) await this.env.CALLBACK_QUEUE.sendBatch(batch);
      } catch (error) {
        // The callbacks stay in flight with a lease: the alarm sends them again.
        this.logError(`callback send failed: ${String(error)}`);
      }
    }
    if (!(await flushed)) await this.ensureAlarm(Date.now() + RETRY_MS);
    await this.syncScheduler();
  }

  /** Waits until D1 holds the rows of the transitions that made these callbacks (not later ones). */
  private async rowsWrittenFor(sends: Send[]): Promise<void> {
    let through = 0;
    for (const send of sends) {
      through = Math.max(through, this.callbackRowsThrough.get(send.id) ?? Number.MAX_SAFE_INTEGER);
      this.callbackRowsThrough.delete(send.id);
    }
    await this.flusher.flushThrough(through);
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
      await schedulerFor(this.env.CLIENT_SCHEDULER, client).sync(sync, this.schedulerConfig);
      this.schedulerConfig = undefined;
      if (job.meta !== sent) return;
      job.meta = { ...sent, syncPending: false };
      this.store.saveJob(job.spec, job.state, job.meta);
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
    if (this.store.hasPendingProjection() || job.meta.syncPending) candidates.push(Date.now() + 5 * RETRY_MS);
    const wake = candidates.reduce<number | null>((min, at) => (at !== null && (min === null || at < min) ? at : min), null);
    if (wake === null || (this.alarmAt !== null && this.alarmAt <= wake)) return;
    this.alarmAt = wake;
    await this.ctx.storage.setAlarm(wake);
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

  /** The callback body of a delivery (the same bytes each attempt), for the consumer that delivers it. */
  async callbackBody(id: string): Promise<string | null> {
    return this.job ? this.store.callbackBody(id) : null;
  }

  /** A delivery of `send`; a body longer than `maxBodyChars` is left out, for the consumer to fetch. */
  private delivery(send: Send, maxBodyChars = Infinity): Delivery {
    const job = this.job!;
    const stored = this.store.callbackBody(send.id) ?? "{}";
    const body = stored.length <= maxBodyChars ? stored : null;
    const truncated = job.outbox.get(send.id)?.truncated === true;
    return { jobId: job.spec.jobId, client: job.spec.client, id: send.id, attempt: send.attempt, endpoint: send.endpoint, body, ...(truncated ? { truncated } : {}) };
  }

  private logError(message: string): void {
    console.error(JSON.stringify({ level: "error", message, job_id: this.job?.spec.jobId, client: this.job?.spec.client }));
  }
}
