import { bind } from "../db/statement";
import { errorMessage } from "../domain/errors";
import type { JobStore } from "./job-store";

/** Projection statements sent to D1 in one batch at most. */
const FLUSH_BATCH = 400;

/**
 * Writes a coordinator's pending projection statements to D1, oldest first, one flush at a time. The
 * statements were stored with the transition that produced them, so a failed flush loses nothing: the
 * caller's alarm flushes again.
 */
export class ProjectionFlusher {
  private flushing: Promise<boolean> | null = null;
  private again = false;
  private soon: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly db: D1Database,
    private readonly store: () => JobStore,
    private readonly onError: (message: string) => void,
  ) {}

  /**
   * Resolves once the statements up to `throughId` are in D1: at once when they already are (a callback
   * does not wait for the rows of later transitions), otherwise after a flush.
   */
  flushThrough(throughId: number): Promise<boolean> {
    const oldest = this.store().oldestProjectionId();
    if (oldest === null || oldest > throughId) return Promise.resolve(true);
    return this.flush();
  }

  /**
   * Flushes within `delayMs`, together with whatever else is stored meanwhile: for rows nobody waits for
   * (the delivery log of a callback chain), so that a chain makes one D1 write, not one per callback. If
   * the object is evicted first, the alarm flushes them.
   */
  flushSoon(delayMs: number): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.flush();
    }, delayMs);
  }

  /** Drops a pending `flushSoon` (the storage is about to be deleted). */
  cancel(): void {
    if (this.soon) clearTimeout(this.soon);
    this.soon = null;
  }

  /** Resolves once everything stored before the call is in D1 (true), or a write failed (false). */
  flush(): Promise<boolean> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    // Nothing to write: answer at once. An async body that reaches no `await` runs its `finally` before
    // `this.flushing` is assigned, which would leave a settled promise there and skip every later flush.
    if (!this.store().hasPendingProjection()) return Promise.resolve(true);
    this.flushing = (async () => {
      try {
        do {
          this.again = false;
          for (let batch = this.store().pendingProjection(FLUSH_BATCH); batch; batch = this.store().pendingProjection(FLUSH_BATCH)) {
            await this.db.batch(batch.statements.map((statement) => bind(this.db, statement)));
            this.store().dropProjection(batch.lastId);
          }
        } while (this.again);
        return true;
      } catch (error) {
        this.onError(`D1 projection failed; the alarm retries: ${errorMessage(error)}`);
        return false;
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }
}
