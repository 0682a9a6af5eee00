import { bind, type Statement } from "../db/statement";
import { errorMessage } from "../domain/errors";

/** How long a job-level change waits to share its D1 index write with the next ones (README: listing lags ≤ 1 s). */
export const INDEX_DELAY_MS = 250;

/**
 * Writes a job's row to the D1 job index, one write at a time: a change during a write makes another after
 * it. The coordinator calls it from its alarm, set INDEX_DELAY_MS after the first job-level change of a
 * moment, so the changes of that moment (a job created, started and ended within a quarter second) make one
 * write, of the row as it is when the write goes out. (An alarm, not a timer: I/O started by a timer after
 * the object's last request has ended is not guaranteed to run.) A failed write is reported; the alarm tries
 * again.
 */
export class IndexWriter {
  private writing: Promise<boolean> | null = null;
  private again = false;

  constructor(
    /** The job's index shard. */
    private readonly db: () => D1Database,
    /** The row as it is now, and the job-level version it holds. */
    private readonly row: () => { statement: Statement; version: number },
    /** A write of `version` went through; D1's meta is for the cost ledger. */
    private readonly written: (version: number, meta: D1Meta) => void,
    private readonly failed: (message: string) => void,
  ) {}

  /** Writes the row now (after a write under way); true once it is in D1. */
  write(): Promise<boolean> {
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      try {
        do {
          this.again = false;
          const { statement, version } = this.row();
          const result = await bind(this.db(), statement).run();
          this.written(version, result.meta);
        } while (this.again);
        return true;
      } catch (error) {
        this.failed(`D1 job index write failed; the alarm retries: ${errorMessage(error)}`);
        return false;
      } finally {
        this.writing = null;
      }
    })();
    return this.writing;
  }
}
