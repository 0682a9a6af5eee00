import { DurableObject } from "cloudflare:workers";
import { jobsToStart, queuePositions } from "../domain/admission";
import { errorMessage } from "../domain/errors";
import { admissionTargetFor, type AdmissionControl, type SchedulerSync, type SyncAnswer } from "../protocol/admission";
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from "./scheduler-config";
import { SchedulerStore, type SchedulerEntry } from "./scheduler-store";

export interface QueueView {
  config: SchedulerConfig;
  entries: (SchedulerEntry & { position: number | null })[];
}

/** Retry delay for a coordinator that could not be told to start a job. */
const ADMIT_RETRY_MS = 2_000;
/** Timeout of one semaphore poll. */
const SEMAPHORE_TIMEOUT_MS = 10_000;

/**
 * Admission control of one client: its scheduled and queued jobs ordered by priority then submission time,
 * started while the client has free slots (max_jobs, priority_slots, priority_threshold). A job holds a
 * slot while its entry is `started`; the slot is freed exactly once, when the entry goes.
 */
export class ClientScheduler extends DurableObject<Env> implements AdmissionControl {
  private readonly store: SchedulerStore;
  private readonly entries = new Map<string, SchedulerEntry>();
  private config: SchedulerConfig = DEFAULT_SCHEDULER_CONFIG;
  private alarmAt: number | null = null;
  /** Jobs whose coordinator is being told to start; a concurrent pump must not tell it again. */
  private readonly admitting = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new SchedulerStore(ctx.storage.sql);
    void ctx.blockConcurrencyWhile(async () => {
      // A start's confirmation is not stored (one row less per job): after a restart every started job is
      // told again, which a coordinator answers without changing anything.
      for (const entry of this.store.entries()) this.entries.set(entry.jobId, entry.state === "started" ? { ...entry, admitPending: true } : entry);
      this.config = { ...DEFAULT_SCHEDULER_CONFIG, ...(this.store.limits() as Partial<SchedulerConfig> | null) };
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /**
   * Applies a coordinator's view of its job: (re-)enter the queue, update it, or leave (freeing its slot).
   * Answers the rows this wrote, for the job's cost ledger, and `start` when the job holds a slot in the
   * round it synced (the pump that ran here may have just given it one): the answer is its start.
   */
  async sync(sync: SchedulerSync, config?: SchedulerConfig): Promise<SyncAnswer> {
    if (config) this.setConfig(config);
    const current = this.entries.get(sync.jobId);
    if (current && current.generation > sync.generation) return { rowsWritten: this.store.takeRowsWritten() };
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      if (sync.kind === "gone") {
        this.entries.delete(sync.jobId);
        this.store.remove(sync.jobId);
        return;
      }
      const sameRound = current !== undefined && current.generation === sync.generation;
      if (sameRound && current.state === "started") {
        this.save({ ...current, priority: sync.priority });
        return;
      }
      const waitsForTime = sync.runAt !== null && sync.runAt > now;
      const scheduled = waitsForTime || sync.semaphoreUrl !== null;
      this.save({
        jobId: sync.jobId,
        generation: sync.generation,
        priority: sync.priority,
        submittedAt: sync.submittedAt,
        state: scheduled ? "scheduled" : "queued",
        runAt: sync.runAt,
        semaphoreUrl: sync.semaphoreUrl,
        checkAt: scheduled ? (waitsForTime ? sync.runAt : now) : null,
        startedAt: null,
        admitPending: false,
      });
    });
    let rowsWritten = this.store.takeRowsWritten();
    const answering = sync.kind === "waiting" ? { jobId: sync.jobId, generation: sync.generation } : null;
    rowsWritten += await this.pump(answering);
    const entry = this.entries.get(sync.jobId);
    const holdsSlot = answering !== null && entry?.state === "started" && entry.generation === sync.generation;
    return holdsSlot ? { rowsWritten, start: sync.generation } : { rowsWritten };
  }

  /** New admission settings; free slots are filled at once (the reference system's push_jobs). */
  async configure(config: SchedulerConfig): Promise<void> {
    this.setConfig(config);
    await this.pump();
  }

  async view(): Promise<QueueView> {
    const queued = [...this.entries.values()].filter((entry) => entry.state === "queued");
    const positions = queuePositions(queued);
    return {
      config: this.config,
      entries: [...this.entries.values()].map((entry) => ({ ...entry, position: positions.get(entry.jobId) ?? null })),
    };
  }

  /** Promotes scheduled jobs that came due, retries unconfirmed starts, then fills free slots. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = Date.now();
    const due = [...this.entries.values()].filter((entry) => entry.state === "scheduled" && entry.checkAt !== null && entry.checkAt <= now);
    if (this.config.queueScheduledJobs) {
      await Promise.all(due.map((entry) => this.checkScheduled(entry, now)));
    }
    await this.pump();
  }

  private setConfig(config: SchedulerConfig): void {
    // Older settings than those in force (a submit through an isolate with a stale copy) change nothing.
    if (config.version !== undefined && this.config.version !== undefined && config.version < this.config.version) return;
    if (JSON.stringify(config) === JSON.stringify(this.config)) return;
    this.config = config;
    this.store.saveLimits(config);
  }

  private save(entry: SchedulerEntry): void {
    this.entries.set(entry.jobId, entry);
    this.store.save(entry);
  }

  /** A scheduled job whose check came due: queued when its time has come and its semaphore (if any) is open. */
  private async checkScheduled(entry: SchedulerEntry, now: number): Promise<void> {
    if (entry.runAt !== null && entry.runAt > now) {
      this.save({ ...entry, checkAt: entry.runAt });
      return;
    }
    const open = entry.semaphoreUrl === null || (await this.semaphoreOpen(entry.semaphoreUrl));
    const latest = this.entries.get(entry.jobId);
    if (!latest || latest.generation !== entry.generation || latest.state !== "scheduled") return;
    if (!open) {
      this.save({ ...latest, checkAt: Date.now() + this.config.scheduleIntervalMs });
      return;
    }
    this.save({ ...latest, state: "queued", checkAt: null });
    await admissionTargetFor(this.env.JOB_COORDINATOR, entry.jobId)
      .markQueued(entry.generation)
      .catch((error: unknown) => this.log("could not mark a job queued", entry.jobId, error));
  }

  private async semaphoreOpen(url: string): Promise<boolean> {
    try {
      const response = await fetch(url, { method: "GET", redirect: "manual", signal: AbortSignal.timeout(SEMAPHORE_TIMEOUT_MS) });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 400;
    } catch {
      return false;
    }
  }

  /**
   * Starts queued jobs while slots are free. The choice and the slot are persisted first, with the alarm that
   * retries the start; then each job's coordinator is told. A coordinator that answers `stale` (the job moved
   * on) gives its slot back. The job of a sync being answered (`answering`) is not told: the answer carries
   * its start, and its coordinator syncs again until it has an answer. Returns that job's share of the rows.
   */
  private async pump(answering: { jobId: string; generation: number } | null = null): Promise<number> {
    const now = Date.now();
    const all = [...this.entries.values()];
    const started = all.filter((entry) => entry.state === "started").length;
    const chosen = jobsToStart(all.filter((entry) => entry.state === "queued"), started, this.config);
    const toAdmit = all.filter((entry) => entry.state === "started" && entry.admitPending && !this.admitting.has(entry.jobId));
    let answered = false;
    this.ctx.storage.transactionSync(() => {
      for (const job of chosen) {
        const chosenEntry = this.entries.get(job.jobId)!;
        const isAnswered = answering !== null && job.jobId === answering.jobId && chosenEntry.generation === answering.generation;
        const entry = { ...chosenEntry, state: "started" as const, startedAt: now, admitPending: !isAnswered };
        this.save(entry);
        if (isAnswered) answered = true;
        else toAdmit.push(entry);
      }
    });
    // The alarm is armed before any coordinator is told (persist before effect): should the runtime die
    // between the saved choice and the admits, the alarm sends them (found by the chaos drill's reading).
    if (toAdmit.length > 0) await this.ensureAlarm();
    // What this round cost, shared by the jobs it starts: its rows (the started entries, the alarm) and the
    // alarm's one invocation to come.
    const sharers = toAdmit.length + (answered ? 1 : 0);
    // With no job to share them, the rows wait for the next job this object charges.
    const rows = sharers > 0 ? this.store.takeRowsWritten() : 0;
    const share = { doRowsWritten: rows / Math.max(1, sharers), doRequests: toAdmit.length > 0 ? 1 / sharers : 0 };
    let freed = false;
    for (const entry of toAdmit) this.admitting.add(entry.jobId);
    await Promise.all(
      toAdmit.map(async (entry) => {
        try {
          const answer = await admissionTargetFor(this.env.JOB_COORDINATOR, entry.jobId).admit(entry.generation, share);
          const latest = this.entries.get(entry.jobId);
          if (!latest || latest.generation !== entry.generation) return;
          if (answer === "started") {
            // Confirmed: kept in memory only (see the constructor).
            this.entries.set(entry.jobId, { ...latest, admitPending: false });
          } else {
            this.entries.delete(entry.jobId);
            this.store.remove(entry.jobId);
            freed = true;
          }
        } catch (error) {
          this.log("could not start a job; retrying", entry.jobId, error);
        } finally {
          this.admitting.delete(entry.jobId);
        }
      }),
    );
    if (freed) await this.pump();
    else await this.ensureAlarm();
    return answered ? share.doRowsWritten : 0;
  }

  private async ensureAlarm(): Promise<void> {
    let wake: number | null = null;
    for (const entry of this.entries.values()) {
      // With queue_scheduled_jobs off, a due scheduled job would re-arm a past alarm forever (a hot loop);
      // it waits instead until configure() switches the schedule on, which arms the alarm again.
      const scheduledAt = this.config.queueScheduledJobs ? entry.checkAt : null;
      const at = entry.state === "scheduled" ? scheduledAt : entry.admitPending ? Date.now() + ADMIT_RETRY_MS : null;
      if (at !== null && (wake === null || at < wake)) wake = at;
    }
    if (wake === null || (this.alarmAt !== null && this.alarmAt <= wake)) return;
    this.alarmAt = wake;
    await this.ctx.storage.setAlarm(wake);
    this.store.countRowWritten();
  }

  private log(message: string, jobId: string, error: unknown): void {
    console.error(JSON.stringify({ level: "error", message, job_id: jobId, error: errorMessage(error) }));
  }
}
