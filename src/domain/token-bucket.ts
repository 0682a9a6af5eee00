/** A token bucket: `rate` tokens a second up to `burst`; each request takes one. Pure. */
export interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { ok: true; bucket: Bucket; granted: number } | { ok: false; bucket: Bucket; retryAfterMs: number };

/** Takes up to `want` whole tokens (at least one, or none and the wait until one is there). */
export function take(bucket: Bucket | null, now: number, rate: number, burst: number, want = 1): Take {
  const elapsed = bucket ? Math.max(0, now - bucket.at) / 1000 : 0;
  const tokens = Math.min(burst, (bucket ? bucket.tokens : burst) + elapsed * rate);
  if (tokens >= 1) {
    const granted = Math.max(1, Math.min(Math.floor(want), Math.floor(tokens)));
    return { ok: true, bucket: { tokens: tokens - granted, at: now }, granted };
  }
  return { ok: false, bucket: { tokens, at: now }, retryAfterMs: Math.ceil(((1 - tokens) / rate) * 1000) };
}

/** How long an isolate may spend tokens it took ahead (request-budget.ts); unspent ones are then lost. */
export const LEASE_MS = 1_000;

/**
 * How many tokens an isolate takes at once: a lease's worth of the rate, at most a quarter of the burst
 * (so a few isolates can share a burst), at least one. A client limited to one request at a time gets
 * exactly the bucket's answers; a busy client asks the bucket once per this many requests.
 */
export function leaseSize(rate: number, burst: number): number {
  return Math.max(1, Math.floor(Math.min((rate * LEASE_MS) / 1000, burst / 4)));
}
