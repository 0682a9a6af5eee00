import { DurableObject } from "cloudflare:workers";
import { ulid } from "ulidx";
import { engineConfig, type EngineConfig } from "../config";
import { attemptRow, callbackRow, jobRow, logRow, newJobRow, taskRow, type AttemptRecord, type QueueState } from "../db/projection";
import { bind, type Statement } from "../db/statement";
import { initialJobState, nextTaskDeadline, type TaskPlan } from "../domain/job-graph";
import type { JobEvent } from "../domain/job-events";
import { jobProgress, type JobState } from "../domain/job-state";
import { Outbox, type OutboxEntry, type Send } from "../domain/outbox";
import { transition } from "../domain/transition";
import type { CallbackMessage, TaskMessage } from "../queues/messages";
import type { TaskDefinition, Workflow } from "../workflows/definition";
import { findWorkflow } from "../workflows/registry";
import type { ClaimResult, JobSpec, TaskAssignment } from "./job-spec";
import { JobStore } from "./job-store";
import { callbacksFor, jobResult, taskOutputs } from "./notices";

/** Projection statements sent to D1 in one batch at most. */
const FLUSH_BATCH = 400;
/** If a D1 write fails, the alarm tries again after this long. */
const FLUSH_RETRY_MS = 5_000;
/** A task's attempt timeout when its definition gives none. */
const DEFAULT_TASK_TIMEOUT_MS = 60_000;

interface LoadedJob {
  spec: JobSpec;
  state: JobState;
  outbox: Outbox;
  workflow: Workflow;
  definitions: ReadonlyMap<string, TaskDefinition<unknown>>;
}

/** Work that may start once a transition is persisted. */
interface AfterCommit {
  dispatches: TaskMessage[];
  sends: Send[];
  handoff: TaskAssignment | null;
}

/** A callback attempt a consumer delivers itself (without a queue hop). */
export type Delivery = CallbackMessage;

/**
 * The source of truth of one job: its task graph, task attempts and leases, and its callback outbox.
 * A thin adapter around the pure `transition` reducer and `Outbox`: every change is persisted in this
 * object's SQLite storage before any effect (queue send, D1 write, callback) is performed.
 */
export class JobCoordinator extends DurableObject<Env> {
  private store: JobStore;
  private readonly config: EngineConfig;
  private job: LoadedJob | null = null;
  private alarmAt: number | null = null;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = engineConfig(env);
    this.store = new JobStore(ctx.storage.sql);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = this.store.load();
      if (stored) this.job = this.loaded(stored.spec, stored.state, stored.outbox);
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /**
   * Creates the job: persists its spec and task graph, writes its D1 rows (awaited, so the job can be
   * read as soon as this returns), then dispatches its ready tasks. Calling it again does nothing.
   */
  async start(spec: JobSpec): Promise<{ started: boolean }> {
    if (this.job) return { started: false };
    const workflow = findWorkflow(spec.workflow);
    if (!workflow) throw new Error(`unknown workflow ${spec.workflow}`);
    const tasks: TaskPlan[] = workflow.tasks(spec.parameters).map((definition) => ({
      name: definition.name,
      id: ulid(),
      executor: definition.executor,
      needs: definition.needs ?? [],
      skip: definition.when ? !definition.when(spec.parameters) : false,
      policy: {
        limit: definition.retry?.limit ?? spec.retryLimit,
        delayMs: definition.retry?.delayMs ?? spec.retryDelayMs,
        backoff: definition.retry?.backoff ?? 2,
      },
      timeoutMs:
        typeof definition.timeoutMs === "function"
          ? definition.timeoutMs(spec.parameters)
          : (definition.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS),
    }));
    const initial = initialJobState({
      jobId: spec.jobId,
      client: spec.client,
      workflow: spec.workflow,
      contentId: spec.contentId,
      tasks,
      createdAt: spec.createdAt,
      dispatchLeaseMs: this.config.dispatchLeaseMs,
      leaseGraceMs: this.config.leaseGraceMs,
    });
    // The API's submission lines take the first log numbers.
    const state = { ...initial, nextLogSeq: 1 + spec.submissionLog.length };
    this.job = this.loaded(spec, state, []);
    const statements: Statement[] = [
      newJobRow(spec, "queued"),
      ...spec.submissionLog.map((line, index) =>
        logRow(spec.jobId, { seq: index + 1, taskId: null, time: spec.createdAt, ...line }, "api"),
      ),
      // Every task row exists from the start (pending or skipped), so the job object shows the whole graph.
      ...state.order.map((name, position) => taskRow(spec.jobId, state.tasks[name]!, position)),
    ];
    this.ctx.storage.transactionSync(() => {
      this.store.saveJob(spec, state);
      state.order.forEach((name, position) => this.store.saveTask(state.tasks[name]!, position));
      this.store.appendProjection(statements);
    });
    await this.flush();
    await this.apply({ type: "start" });
    return { started: true };
  }

  /** A consumer asks to run an attempt it received; stale and duplicate claims are refused. */
  async claim(task: string, attempt: number): Promise<ClaimResult> {
    if (!this.job) return { ok: false, reason: "unknown job" };
    const outcome = await this.apply({ type: "claim", task, attempt });
    if (!outcome.applied) return { ok: false, reason: outcome.reason };
    return { ok: true, assignment: this.assignment(task) };
  }

  /** Reports a successful attempt. With `takeNext`, returns one newly ready task for the caller to run. */
  async complete(task: string, attempt: number, output: unknown, takeNext = false): Promise<TaskAssignment | null> {
    if (!this.job) return null;
    const outcome = await this.apply({ type: "complete", task, attempt, output, takeNext });
    return outcome.handoff;
  }

  async fail(task: string, attempt: number, error: string, retryable: boolean): Promise<void> {
    if (!this.job) return;
    await this.apply({ type: "fail", task, attempt, error, retryable });
  }

  async progress(task: string, attempt: number, progress: number): Promise<void> {
    if (!this.job) return;
    await this.apply({ type: "progress", task, attempt, progress });
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
    const statements: Statement[] = [attemptRow(job.spec.jobId, id, attempt, record)];
    this.ctx.storage.transactionSync(() => {
      for (const changed of change.changed) {
        this.store.saveOutboxEntry(changed);
        statements.push(callbackRow(job.spec.jobId, changed, job.spec.createdAt, now));
      }
      this.store.appendProjection(statements);
    });
    await this.ensureAlarm();
    const inline = takeNext ? change.sends.find((send) => send.endpoint === entry.endpoint) : undefined;
    const queued = change.sends.filter((send) => send !== inline);
    this.ctx.waitUntil(this.performEffects({ dispatches: [], sends: queued, handoff: null }));
    if (!inline) return null;
    await this.flush();
    return this.delivery(inline);
  }

  /**
   * Starts a new attempt series for a callback that was delivered or failed (same webhook-id). It waits
   * its turn behind earlier undelivered callbacks of its endpoint.
   */
  async redeliver(id: string): Promise<{ ok: boolean; reason: string }> {
    const job = this.job;
    if (!job || !job.outbox.get(id)) return { ok: false, reason: "unknown callback" };
    const now = Date.now();
    const change = job.outbox.redeliver(id, now);
    if (!change) return { ok: false, reason: "callback is still being delivered" };
    this.ctx.storage.transactionSync(() => {
      for (const changed of change.changed) this.store.saveOutboxEntry(changed);
      this.store.appendProjection(change.changed.map((entry) => callbackRow(job.spec.jobId, entry, job.spec.createdAt, now)));
    });
    await this.ensureAlarm();
    this.ctx.waitUntil(this.performEffects({ dispatches: [], sends: change.sends, handoff: null }));
    return { ok: true, reason: "" };
  }

  /** Watchdog: re-dispatches tasks whose lease passed, starts due retries, re-sends lost callbacks. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const job = this.job;
    if (!job) return;
    await this.apply({ type: "tick" });
    const now = Date.now();
    const change = job.outbox.tick(now);
    if (change.changed.length > 0) {
      this.ctx.storage.transactionSync(() => {
        for (const changed of change.changed) this.store.saveOutboxEntry(changed);
        this.store.appendProjection(change.changed.map((entry) => callbackRow(job.spec.jobId, entry, job.spec.createdAt, now)));
      });
    }
    await this.ensureAlarm();
    await this.performEffects({ dispatches: [], sends: change.sends, handoff: null });
    await this.flush();
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
  async snapshot(): Promise<{ spec: JobSpec; state: JobState; outbox: OutboxEntry[] } | null> {
    if (!this.job) return null;
    return { spec: this.job.spec, state: this.job.state, outbox: this.job.outbox.all() };
  }

  private loaded(spec: JobSpec, state: JobState, outbox: OutboxEntry[]): LoadedJob {
    const workflow = findWorkflow(spec.workflow);
    if (!workflow) throw new Error(`workflow ${spec.workflow} is no longer known`);
    const definitions = new Map(workflow.tasks(spec.parameters).map((definition) => [definition.name, definition]));
    const policy = {
      scheduleMs: spec.callbackScheduleMs,
      inFlightLeaseMs: this.config.callbackTimeoutMs + this.config.leaseGraceMs,
    };
    return { spec, state, outbox: new Outbox(outbox, policy), workflow, definitions };
  }

  /**
   * Applies one event: the reducer computes the new state, which is persisted (job, changed tasks,
   * new callbacks, D1 projection rows) in one storage transaction; then the effects are started.
   */
  private async apply(event: JobEvent): Promise<{ applied: boolean; reason: string; handoff: TaskAssignment | null }> {
    const job = this.job!;
    const now = Date.now();
    const before = job.state;
    const result = transition(before, event, now);
    if (!result.applied) return { applied: false, reason: result.reason ?? "ignored", handoff: null };
    const state = result.state;
    job.state = state;
    const after: AfterCommit = { dispatches: [], sends: [], handoff: null };
    const statements: Statement[] = [];
    const newCallbacks: { entry: OutboxEntry; body: string }[] = [];
    for (const effect of result.effects) {
      switch (effect.type) {
        case "dispatch":
          after.dispatches.push({ jobId: job.spec.jobId, task: effect.task, attempt: effect.attempt });
          break;
        case "handoff":
          after.handoff = this.assignment(effect.task);
          break;
        case "log":
          statements.push(
            logRow(job.spec.jobId, {
              ...effect,
              taskId: effect.task === null ? null : (state.tasks[effect.task]?.id ?? null),
            }),
          );
          break;
        case "notify":
          newCallbacks.push(...callbacksFor(effect.notice, job.spec, state, job.workflow, job.definitions));
          break;
        case "ended":
          break;
      }
    }
    const bodies = new Map(newCallbacks.map((callback) => [callback.entry.id, callback.body]));
    const change = job.outbox.enqueue(
      newCallbacks.map((callback) => callback.entry),
      now,
    );
    after.sends = change.sends;
    this.ctx.storage.transactionSync(() => {
      this.store.saveJob(job.spec, state);
      state.order.forEach((name, position) => {
        const task = state.tasks[name]!;
        if (task.version !== state.version) return;
        this.store.saveTask(task, position);
        statements.push(taskRow(job.spec.jobId, task, position));
      });
      for (const entry of change.changed) {
        this.store.saveOutboxEntry(entry, bodies.get(entry.id));
        statements.push(callbackRow(job.spec.jobId, entry, now, now));
      }
      if (jobProgress(before) !== jobProgress(state) || before.outcome !== state.outcome || before.paused !== state.paused) {
        const queueState: QueueState = state.outcome !== "running" ? "completed" : state.paused ? "paused" : "started";
        const resultFields = state.outcome === "completed" ? jobResult(job.workflow, job.spec, state) : null;
        statements.push(jobRow(state, queueState, jobProgress(state), resultFields, now));
      } else if (before.version === 0) {
        statements.push(jobRow(state, "started", jobProgress(state), null, now));
      }
      this.store.appendProjection(statements);
    });
    await this.ensureAlarm();
    this.ctx.waitUntil(this.performEffects({ ...after, handoff: null }));
    return { applied: true, reason: "", handoff: after.handoff };
  }

  /** Starts the effects of a persisted change: tasks go out at once; callbacks after their D1 rows. */
  private async performEffects(after: AfterCommit): Promise<void> {
    try {
      for (let i = 0; i < after.dispatches.length; i += 100) {
        await this.env.TASK_QUEUE.sendBatch(after.dispatches.slice(i, i + 100).map((body) => ({ body })));
      }
    } catch (error) {
      // The tasks stay `dispatched` with a lease: the alarm dispatches them again.
      this.logError("task dispatch failed", error);
    }
    await this.flush();
    if (after.sends.length === 0) return;
    try {
      const messages = after.sends.map((send) => ({ body: this.delivery(send) }));
      for (let i = 0; i < messages.length; i += 100) await this.env.CALLBACK_QUEUE.sendBatch(messages.slice(i, i + 100));
    } catch (error) {
      // The callbacks stay in flight with a lease: the alarm sends them again.
      this.logError("callback send failed", error);
    }
  }

  /** Writes pending projection statements to D1, oldest first, one flush at a time. */
  private flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.flushAgain = false;
          for (let batch = this.store.pendingProjection(FLUSH_BATCH); batch; batch = this.store.pendingProjection(FLUSH_BATCH)) {
            await this.env.DB.batch(batch.statements.map((statement) => bind(this.env.DB, statement)));
            this.store.dropProjection(batch.lastId);
          }
        } while (this.flushAgain);
      } catch (error) {
        this.logError("D1 projection failed; the alarm retries", error);
        await this.ensureAlarm(Date.now() + FLUSH_RETRY_MS);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** Arms the alarm for the earliest deadline, if that is earlier than the one already armed. */
  private async ensureAlarm(extra: number | null = null): Promise<void> {
    const job = this.job;
    if (!job) return;
    const candidates = [nextTaskDeadline(job.state), job.outbox.nextDue(), extra];
    if (this.store.hasPendingProjection()) candidates.push(Date.now() + 2 * FLUSH_RETRY_MS);
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

  private delivery(send: Send): Delivery {
    const job = this.job!;
    return {
      jobId: job.spec.jobId,
      client: job.spec.client,
      id: send.id,
      attempt: send.attempt,
      endpoint: send.endpoint,
      body: this.store.callbackBody(send.id) ?? "{}",
    };
  }

  private logError(message: string, error: unknown): void {
    console.error(
      JSON.stringify({
        level: "error",
        message,
        job_id: this.job?.spec.jobId,
        client: this.job?.spec.client,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }
}
