import { DurableObject } from "cloudflare:workers";
import type { LeaseAsk, PoolOffer, PoolStatus, PoolWorker } from "../protocol/pool";

/** A worker not seen for this long is left out of the operator's view (and its row deleted). */
const WORKER_GONE_MS = 10 * 60_000;
/**
 * An offer handed to a long poll waits this long for the worker API to settle it (claimed, or found stale);
 * after that it is offered again. A poll whose worker went away, or whose API call died before it could
 * claim, loses nothing: the offer comes back.
 */
const HANDOFF_MS = 5_000;

interface Waiter {
  client: string | null;
  pollId: string | undefined;
  wake: () => void;
}

/**
 * One worker pool (workers.md): the tasks offered to it and not yet handed out, in priority then submission
 * order, and the workers long-polling for them. It holds no task state: a coordinator offers an attempt
 * when it is ready (again, harmlessly, if its offer lease passes), and a handed-out offer only becomes a
 * lease when the coordinator accepts the claim, so an offer that is stale by then (a paused, broken or
 * retried job) is dropped by the worker API and nothing runs twice. A handed-out offer stays here until the
 * worker API settles it (`settle`, after its claim), and is offered again if that does not happen in time.
 */
export class WorkerPool extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Long polls waiting for an offer, oldest first (in memory: a restart ends them, and workers poll again). */
  private waiters: Waiter[] = [];
  /** Polls whose worker went away while they waited: they end at their next look. */
  private readonly abandoned = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS offers (
      job_id TEXT NOT NULL, task TEXT NOT NULL, attempt INTEGER NOT NULL, client TEXT NOT NULL,
      priority INTEGER NOT NULL, submitted_at INTEGER NOT NULL, offered_at INTEGER NOT NULL, handed_until INTEGER,
      PRIMARY KEY (job_id, task))`);
    // A pool made before offers were held for their handoff gets the column.
    const columns = this.sql.exec<{ name: string }>(`PRAGMA table_info(offers)`).toArray().map((column) => column.name);
    if (!columns.includes("handed_until")) this.sql.exec(`ALTER TABLE offers ADD COLUMN handed_until INTEGER`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS workers (
      worker_id TEXT PRIMARY KEY, label TEXT NOT NULL, token_id TEXT NOT NULL, last_seen INTEGER NOT NULL,
      leases_held INTEGER NOT NULL, leases_taken INTEGER NOT NULL)`);
  }

  /**
   * Offers attempts; an offer of a task already here keeps the newer attempt, and waits again even if it was
   * handed out (the coordinator offers again only what it has not seen claimed). Wakes waiting polls.
   */
  async offer(offers: PoolOffer[]): Promise<void> {
    const now = Date.now();
    for (const offer of offers) {
      this.sql.exec(
        `INSERT INTO offers (job_id, task, attempt, client, priority, submitted_at, offered_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id, task) DO UPDATE SET attempt = excluded.attempt, priority = excluded.priority, offered_at = excluded.offered_at,
           handed_until = NULL
         WHERE excluded.attempt >= offers.attempt`,
        offer.jobId,
        offer.task,
        offer.attempt,
        offer.client,
        offer.priority,
        offer.submittedAt,
        now,
      );
    }
    for (const offer of offers) this.wakeOne(offer.client);
  }

  /**
   * A worker's long poll: up to `max` offers it may take (its token's client only, when scoped), at once if
   * some wait, else as soon as one arrives, else none after `waitMs`. Handed-out offers are held for the
   * caller until it settles them.
   */
  async lease(ask: LeaseAsk): Promise<PoolOffer[]> {
    this.seen(ask, 0);
    const deadline = Date.now() + ask.waitMs;
    for (;;) {
      if (ask.pollId !== undefined && this.abandoned.delete(ask.pollId)) return [];
      const taken = this.take(ask.client, ask.max);
      if (taken.length > 0) {
        this.seen(ask, taken.length);
        return taken;
      }
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.waitForOffer(ask.client, ask.pollId, left);
    }
  }

  /** The worker of a poll went away: the poll ends without taking anything. */
  async abandon(pollId: string): Promise<void> {
    const waiter = this.waiters.find((candidate) => candidate.pollId === pollId);
    if (!waiter) return;
    this.abandoned.add(pollId);
    waiter.wake();
  }

  /**
   * The worker API is done with these handed-out offers (each claimed, or refused as stale): they leave, unless
   * offered again since they were handed out (their hold no longer matches: the newer offer stays).
   */
  async settle(offers: Pick<PoolOffer, "jobId" | "task" | "attempt" | "handedUntil">[]): Promise<void> {
    for (const offer of offers) {
      this.sql.exec(`DELETE FROM offers WHERE job_id = ? AND task = ? AND attempt = ? AND handed_until = ?`, offer.jobId, offer.task, offer.attempt, offer.handedUntil ?? -1);
    }
  }

  /** Holds that passed unsettled end: those offers wait again, and the polls waiting now look again. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec(`UPDATE offers SET handed_until = NULL WHERE handed_until <= ?`, now);
    for (const waiter of [...this.waiters]) waiter.wake();
    const next = this.sql.exec<{ at: number | null }>(`SELECT min(handed_until) AS at FROM offers WHERE handed_until > ?`, now).one().at;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  /** The operator's view: workers seen lately, and the offers waiting. */
  async status(): Promise<PoolStatus> {
    const since = Date.now() - WORKER_GONE_MS;
    this.sql.exec(`DELETE FROM workers WHERE last_seen < ?`, since);
    const workers = this.sql
      .exec<{ worker_id: string; label: string; token_id: string; last_seen: number; leases_held: number; leases_taken: number }>(
        `SELECT * FROM workers ORDER BY last_seen DESC LIMIT 1000`,
      )
      .toArray()
      .map((row): PoolWorker => ({ ...row, last_seen: new Date(row.last_seen).toISOString() }));
    const waiting = this.sql
      .exec<{ job_id: string; task: string; attempt: number; client: string; priority: number; offered_at: number }>(
        `SELECT job_id, task, attempt, client, priority, offered_at FROM offers WHERE handed_until IS NULL OR handed_until < ? ORDER BY priority DESC, submitted_at, job_id, task LIMIT 1000`,
        Date.now(),
      )
      .toArray()
      .map((row) => ({ ...row, offered_at: new Date(row.offered_at).toISOString() }));
    return { workers, waiting };
  }

  /**
   * Hands out up to `max` offers in order, holding each for HANDOFF_MS. Synchronous: two polls never take the
   * same offer. The alarm is set for the hold's end (so unsettled offers go back to waiting polls).
   */
  private take(client: string | null, max: number): PoolOffer[] {
    const now = Date.now();
    const rows = this.sql
      .exec<{ job_id: string; task: string; attempt: number; client: string; priority: number; submitted_at: number }>(
        `SELECT job_id, task, attempt, client, priority, submitted_at FROM offers WHERE (?1 IS NULL OR client = ?1) AND (handed_until IS NULL OR handed_until < ?3)
         ORDER BY priority DESC, submitted_at, job_id, task LIMIT ?2`,
        client,
        max,
        now,
      )
      .toArray();
    const until = now + HANDOFF_MS;
    for (const row of rows) this.sql.exec(`UPDATE offers SET handed_until = ? WHERE job_id = ? AND task = ?`, until, row.job_id, row.task);
    if (rows.length > 0) void this.armHandoffAlarm(until);
    return rows.map((row) => ({ jobId: row.job_id, task: row.task, attempt: row.attempt, client: row.client, priority: row.priority, submittedAt: row.submitted_at, handedUntil: until }));
  }

  private async armHandoffAlarm(at: number): Promise<void> {
    const armed = await this.ctx.storage.getAlarm();
    if (armed === null || armed > at) await this.ctx.storage.setAlarm(at);
  }

  private waitForOffer(client: string | null, pollId: string | undefined, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        client,
        pollId,
        wake: () => {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((other) => other !== waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, ms);
      this.waiters.push(waiter);
    });
  }

  /** Wakes the oldest poll that may take an offer of `client`. */
  private wakeOne(client: string): void {
    this.waiters.find((waiter) => waiter.client === null || waiter.client === client)?.wake();
  }

  /** Notes the worker for the operator's view (its label, when it last polled, what it took). */
  private seen(ask: LeaseAsk, taken: number): void {
    this.sql.exec(
      `INSERT INTO workers (worker_id, label, token_id, last_seen, leases_held, leases_taken) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (worker_id) DO UPDATE SET label = excluded.label, token_id = excluded.token_id, last_seen = excluded.last_seen,
         leases_held = excluded.leases_held, leases_taken = workers.leases_taken + excluded.leases_taken`,
      ask.workerId,
      ask.label,
      ask.tokenId,
      Date.now(),
      ask.holding + taken,
      taken,
    );
  }
}
