/**
 * What a job costs on Cloudflare (efficiency.md): the billable operations the engine counts for each job,
 * and the list prices that turn them into dollars. Counting never adds a write: a job's ledger lives in its
 * coordinator's state (stored with writes that happen anyway) and leaves in one `job cost` log line when the
 * job has ended and its callbacks have settled.
 */

export interface CostLedger {
  /** Durable Object requests: every RPC into a coordinator, scheduler or rate limiter, and every alarm. */
  doRequests: number;
  /** Durable Object SQLite rows written (the SQL cursors' `rowsWritten`), plus one per `setAlarm()`. */
  doRowsWritten: number;
  /** D1 rows written, as D1 reports them (`meta.rows_written`, index rows included). */
  d1RowsWritten: number;
  /** D1 rows read (`meta.rows_read`). */
  d1RowsRead: number;
  /** Queue messages sent. */
  queueMessages: number;
  /** Their 64 KB units: each is billed as one write, one read and one delete. */
  queueUnits: number;
  /** Worker invocations: HTTP requests, and queue batches shared by the messages they carried. */
  workerInvocations: number;
}

export const EMPTY_LEDGER: CostLedger = {
  doRequests: 0,
  doRowsWritten: 0,
  d1RowsWritten: 0,
  d1RowsRead: 0,
  queueMessages: 0,
  queueUnits: 0,
  workerInvocations: 0,
};

/** Adds ledgers (or parts of them). */
export function addCost(base: CostLedger, ...more: Partial<CostLedger>[]): CostLedger {
  const sum = { ...base };
  for (const part of more) for (const key of Object.keys(part) as (keyof CostLedger)[]) sum[key] += part[key] ?? 0;
  return sum;
}

/** Cloudflare's list prices (Workers Paid, late 2026, past the included amounts), dollars per operation. */
export const PRICES = {
  doRequest: 0.15 / 1e6,
  doRowWritten: 1.0 / 1e6,
  d1RowWritten: 1.0 / 1e6,
  d1RowRead: 0.001 / 1e6,
  /** A write, a read and a delete per 64 KB unit. */
  queueOperation: 0.4 / 1e6,
  workerRequest: 0.3 / 1e6,
  workflowStep: 8.0 / 1e6,
} as const;

/** Queue operations of a ledger: a write, a read and a delete per unit. */
export function queueOperations(ledger: CostLedger): number {
  return 3 * ledger.queueUnits;
}

/** What the ledger costs, in dollars (CPU time aside). */
export function dollars(ledger: CostLedger): number {
  return (
    ledger.doRequests * PRICES.doRequest +
    ledger.doRowsWritten * PRICES.doRowWritten +
    ledger.d1RowsWritten * PRICES.d1RowWritten +
    ledger.d1RowsRead * PRICES.d1RowRead +
    queueOperations(ledger) * PRICES.queueOperation +
    ledger.workerInvocations * PRICES.workerRequest
  );
}

/** The queue's billing unit: 64 KB of message. */
export const QUEUE_UNIT_BYTES = 64 * 1024;

/** The 64 KB units of one message of `bytes` bytes (at least one). */
export function queueUnitsOf(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / QUEUE_UNIT_BYTES));
}
