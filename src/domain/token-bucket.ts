/** A token bucket: `rate` tokens a second up to `burst`; each request takes one. Pure. */
export interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { ok: true; bucket: Bucket } | { ok: false; bucket: Bucket; retryAfterMs: number };

export function take(bucket: Bucket | null, now: number, rate: number, burst: number): Take {
  const elapsed = bucket ? Math.max(0, now - bucket.at) / 1000 : 0;
  const tokens = Math.min(burst, (bucket ? bucket.tokens : burst) + elapsed * rate);
  if (tokens >= 1) return { ok: true, bucket: { tokens: tokens - 1, at: now } };
  return { ok: false, bucket: { tokens, at: now }, retryAfterMs: Math.ceil(((1 - tokens) / rate) * 1000) };
}
