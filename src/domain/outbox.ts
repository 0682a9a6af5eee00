/**
 * The callback outbox of one job: per endpoint, callbacks leave in sequence order, one in flight at a
 * time, and failed attempts are retried on the client's schedule. Pure: the coordinator persists the
 * changed entries, then sends what `sends` lists.
 */

/** The error of a callback failed by its endpoint's 410; a reloaded outbox closes the endpoint again from it. */
const GONE = "endpoint answered 410 Gone";
/** The same callbacks once a redelivery has opened the endpoint again. */
const REOPENED = "endpoint answered 410 Gone (opened again by a redelivery)";

export type DeliveryState = "pending" | "in_flight" | "delivered" | "failed";

export interface OutboxEntry {
  /** The callback id; also the Standard Webhooks `webhook-id`, the same on every retry. */
  id: string;
  endpoint: string;
  sequence: number;
  /** `task.start`, `task.complete`, `task.fail` or `job.end`. */
  event: string;
  state: DeliveryState;
  /** Attempts started so far; an attempt report must carry the current number. */
  attempts: number;
  /** While pending: when it may be sent. While in flight: when the attempt is presumed lost. */
  dueAt: number | null;
  /** Why the callback failed for good. */
  error: string | null;
  /** Attempts made before the current attempt series (a redelivery starts a new series). */
  seriesStart?: number;
  /** The body was cut down to the size limit (callback-size.ts); every delivery says so in a header. */
  truncated?: boolean;
}

export interface AttemptOutcome {
  /** HTTP status, or null for a network error or timeout. */
  status: number | null;
  /** The receiver's Retry-After, in ms, when it sent one. */
  retryAfterMs: number | null;
  error: string | null;
}

/** One attempt as the delivery log keeps it. */
export interface AttemptRecord extends AttemptOutcome {
  startedAt: number;
  durationMs: number;
}

/** A callback as its delivery log shows it: the outbox entry, when it was made and last changed, every attempt. */
export interface DeliveryRecord {
  entry: OutboxEntry;
  createdAt: number;
  updatedAt: number;
  /** The reported attempts, oldest first (an attempt presumed lost has none); the first report of an attempt is kept. */
  attempts: (AttemptRecord & { attempt: number })[];
}

export interface DeliveryPolicy {
  /** Delay before each retry, in ms; its length is the number of retries. */
  scheduleMs: number[];
  /** How long an attempt may stay in flight before it is presumed lost and sent again. */
  inFlightLeaseMs: number;
  /**
   * How many callbacks of a line may go out as one run (default 1): the line's head and the pending ones
   * behind it, each attempt started together under one lease, for one consumer to deliver in order, one
   * after the other, stopping at the first that fails and handing back the rest (`release`).
   */
  runLength?: number;
}

export interface Send {
  id: string;
  endpoint: string;
  attempt: number;
}

export interface OutboxChange {
  /** Entries whose fields changed, to persist. */
  changed: OutboxEntry[];
  /** Attempts to start now, after the change is persisted. */
  sends: Send[];
}

export function isDelivered(outcome: AttemptOutcome): boolean {
  return outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
}

export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>();
  /** Entry ids per endpoint in sequence order. */
  private readonly byEndpoint = new Map<string, string[]>();
  /** Endpoints that answered 410 Gone: nothing more is sent to them for this job. */
  private readonly gone = new Set<string>();

  constructor(
    entries: Iterable<OutboxEntry>,
    private readonly policy: DeliveryPolicy,
  ) {
    for (const entry of [...entries].sort((a, b) => a.sequence - b.sequence)) this.insert(entry);
  }

  get(id: string): OutboxEntry | undefined {
    return this.entries.get(id);
  }

  all(): OutboxEntry[] {
    return [...this.entries.values()];
  }

  /** Adds new callbacks (already numbered) and starts those that head their endpoint's line. */
  enqueue(added: OutboxEntry[], now: number): OutboxChange {
    const changed: OutboxEntry[] = [];
    for (const entry of added) {
      if (this.entries.has(entry.id)) continue;
      const stored = this.gone.has(entry.endpoint)
        ? { ...entry, state: "failed" as const, dueAt: null, error: GONE }
        : entry;
      this.insert(stored);
      changed.push(stored);
    }
    return this.pump(now, changed);
  }

  /** Applies the result of attempt `attempt` of callback `id`. Stale or repeated reports change nothing. */
  recordAttempt(id: string, attempt: number, outcome: AttemptOutcome, now: number): OutboxChange {
    const entry = this.entries.get(id);
    if (!entry || entry.state !== "in_flight" || entry.attempts !== attempt) return { changed: [], sends: [] };
    const changed: OutboxEntry[] = [];
    if (isDelivered(outcome)) {
      changed.push(this.set({ ...entry, state: "delivered", dueAt: null, error: null }));
    } else if (outcome.status === 410) {
      this.gone.add(entry.endpoint);
      for (const laterId of this.byEndpoint.get(entry.endpoint) ?? []) {
        const later = this.entries.get(laterId)!;
        // The rest of the line fails too: waiting ones, and the rest of this attempt's run (not yet attempted).
        if (later.state === "pending" || later.state === "in_flight" || later.id === id) {
          changed.push(this.set({ ...later, state: "failed", dueAt: null, error: GONE }));
        }
      }
    } else if (attempt - (entry.seriesStart ?? 0) > this.policy.scheduleMs.length) {
      changed.push(this.set({ ...entry, state: "failed", dueAt: null, error: outcome.error ?? `HTTP ${outcome.status}` }));
    } else {
      // Retry-After is honoured (when longer than the schedule) on 429 and 503 only, as callbacks.md says.
      const retryAfter = outcome.status === 429 || outcome.status === 503 ? (outcome.retryAfterMs ?? 0) : 0;
      const delay = Math.max(this.policy.scheduleMs[attempt - (entry.seriesStart ?? 0) - 1]!, retryAfter);
      changed.push(this.set({ ...entry, state: "pending", dueAt: now + delay, error: outcome.error }));
    }
    return this.pump(now, changed);
  }

  /**
   * Hands back an attempt that was started as part of a run but never made (an earlier callback of the run
   * failed): the callback waits again, its attempt not counted.
   */
  release(id: string, attempt: number, now: number): OutboxChange {
    const entry = this.entries.get(id);
    if (!entry || entry.state !== "in_flight" || entry.attempts !== attempt) return { changed: [], sends: [] };
    if (this.gone.has(entry.endpoint)) return this.pump(now, [this.set({ ...entry, state: "failed", dueAt: null, error: GONE })]);
    return this.pump(now, [this.set({ ...entry, state: "pending", attempts: attempt - 1, dueAt: null })]);
  }

  /** Watchdog: attempts presumed lost are sent again, and retries that came due are started. */
  tick(now: number): OutboxChange {
    const changed: OutboxEntry[] = [];
    for (const entry of this.entries.values()) {
      if (entry.state === "in_flight" && entry.dueAt !== null && entry.dueAt <= now) {
        changed.push(this.set({ ...entry, state: "pending", dueAt: now, error: "attempt presumed lost" }));
      }
    }
    return this.pump(now, changed);
  }

  /** Starts a new attempt series for a callback that ended (delivered or failed), when its line is free. */
  redeliver(id: string, now: number): OutboxChange | null {
    const entry = this.entries.get(id);
    if (!entry || (entry.state !== "delivered" && entry.state !== "failed")) return null;
    const changed: OutboxEntry[] = [];
    if (this.gone.delete(entry.endpoint)) {
      // The endpoint is open again. Its other callbacks that the 410 failed stay failed, but no longer say
      // "gone": a reloaded outbox derives the closed endpoints from that text.
      for (const otherId of this.byEndpoint.get(entry.endpoint) ?? []) {
        const other = this.entries.get(otherId)!;
        if (other.id !== id && other.error === GONE) changed.push(this.set({ ...other, error: REOPENED }));
      }
    }
    changed.push(this.set({ ...entry, state: "pending", dueAt: now, error: null, seriesStart: entry.attempts }));
    return this.pump(now, changed);
  }

  /**
   * The earliest time the watchdog must look at the outbox, or null: an attempt's lease end, or when the head
   * of a line may start. A pending callback behind the head waits for the head, not for its own time (a
   * time already past there would wake the watchdog again and again for nothing).
   */
  nextDue(): number | null {
    let earliest: number | null = null;
    const consider = (at: number | null): void => {
      if (at !== null && (earliest === null || at < earliest)) earliest = at;
    };
    for (const ids of this.byEndpoint.values()) {
      const head = this.headOf(ids);
      if (head?.state === "pending") consider(head.dueAt);
      for (const id of ids) {
        const entry = this.entries.get(id)!;
        if (entry.state === "in_flight") consider(entry.dueAt);
      }
    }
    return earliest;
  }

  /** True when every callback is delivered or failed. */
  settled(): boolean {
    for (const entry of this.entries.values()) if (entry.state === "pending" || entry.state === "in_flight") return false;
    return true;
  }

  /**
   * Starts the head of each endpoint's line if it is pending and due, with the pending callbacks right
   * behind it that are due too, up to the run length: one run, in sequence order, under one lease.
   */
  private pump(now: number, changed: OutboxEntry[]): OutboxChange {
    const sends: Send[] = [];
    const runLength = this.policy.runLength ?? 1;
    for (const [endpoint, ids] of this.byEndpoint) {
      const head = this.headOf(ids);
      if (!head || head.state !== "pending" || (head.dueAt !== null && head.dueAt > now)) continue;
      const lease = now + this.policy.inFlightLeaseMs;
      for (const id of ids.slice(ids.indexOf(head.id))) {
        const entry = this.entries.get(id)!;
        if (entry.state === "delivered" || entry.state === "failed") continue;
        if (sends.filter((send) => send.endpoint === endpoint).length >= runLength) break;
        if (entry.state !== "pending" || (entry.dueAt !== null && entry.dueAt > now)) break;
        const started = this.set({ ...entry, state: "in_flight", attempts: entry.attempts + 1, dueAt: lease });
        changed.push(started);
        sends.push({ id: started.id, endpoint, attempt: started.attempts });
      }
    }
    return { changed: dedupeLatest(changed), sends };
  }

  /**
   * The callback a line is busy with: the one in flight (a redelivered earlier callback must wait for it),
   * else the first pending one.
   */
  private headOf(ids: string[]): OutboxEntry | undefined {
    let firstPending: OutboxEntry | undefined;
    for (const id of ids) {
      const entry = this.entries.get(id)!;
      if (entry.state === "in_flight") return entry;
      if (entry.state === "pending") firstPending ??= entry;
    }
    return firstPending;
  }

  private insert(entry: OutboxEntry): void {
    this.entries.set(entry.id, entry);
    const line = this.byEndpoint.get(entry.endpoint) ?? [];
    const last = line.length > 0 ? this.entries.get(line[line.length - 1]!)! : undefined;
    line.push(entry.id);
    // Callbacks are numbered in creation order, so the line only needs sorting if one arrives late.
    if (last && last.sequence > entry.sequence) line.sort((a, b) => this.entries.get(a)!.sequence - this.entries.get(b)!.sequence);
    this.byEndpoint.set(entry.endpoint, line);
    if (entry.error === GONE) this.gone.add(entry.endpoint);
  }

  private set(entry: OutboxEntry): OutboxEntry {
    this.entries.set(entry.id, entry);
    return entry;
  }
}

/** Keeps the last version of each entry, in first-seen order. */
function dedupeLatest(entries: OutboxEntry[]): OutboxEntry[] {
  const latest = new Map<string, OutboxEntry>();
  for (const entry of entries) latest.set(entry.id, entry);
  return [...latest.values()];
}
