import type { RetryPolicy } from "./job-state";

export type RetryDecision = { type: "retry"; delayMs: number } | { type: "fail" };

/**
 * Whether a failed attempt is retried, and after how long: exponential backoff with ±20 % jitter.
 * The jitter comes from `seed` (a hash of job, task and attempt) so the decision is a pure function.
 */
export function decideRetry(
  policy: RetryPolicy,
  attempt: number,
  retryable: boolean,
  seed: string,
): RetryDecision {
  if (!retryable || attempt > policy.limit) return { type: "fail" };
  const base = policy.delayMs * Math.pow(policy.backoff, attempt - 1);
  const jitter = 0.8 + 0.4 * unitHash(seed);
  return { type: "retry", delayMs: Math.round(base * jitter) };
}

/** A deterministic number in [0, 1) from a string (FNV-1a). */
export function unitHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 0x100000000;
}
