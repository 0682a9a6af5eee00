import { DurableObject } from "cloudflare:workers";
import { take, type Bucket } from "../domain/token-bucket";

/**
 * One client's request budget (a token bucket), held in memory by a Durable Object so every isolate of the
 * Worker draws from the same bucket. Losing it on eviction only refills the bucket. Isolates take tokens a
 * few at a time (request-budget.ts), so a busy client costs one request here per lease, not per request.
 */
export class ClientRateLimiter extends DurableObject<Env> {
  private bucket: Bucket | null = null;

  async take(rate: number, burst: number, want = 1): Promise<{ ok: boolean; granted: number; retryAfterMs: number }> {
    const result = take(this.bucket, Date.now(), rate, burst, want);
    this.bucket = result.bucket;
    return result.ok ? { ok: true, granted: result.granted, retryAfterMs: 0 } : { ok: false, granted: 0, retryAfterMs: result.retryAfterMs };
  }
}
