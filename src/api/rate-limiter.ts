import { DurableObject } from "cloudflare:workers";
import { take, type Bucket } from "../domain/token-bucket";

/**
 * One client's request budget (a token bucket), held in memory by a Durable Object so every isolate of the
 * Worker draws from the same bucket. Losing it on eviction only refills the bucket.
 */
export class ClientRateLimiter extends DurableObject<Env> {
  private bucket: Bucket | null = null;

  async take(rate: number, burst: number): Promise<{ ok: boolean; retryAfterMs: number }> {
    const result = take(this.bucket, Date.now(), rate, burst);
    this.bucket = result.bucket;
    return { ok: result.ok, retryAfterMs: result.ok ? 0 : result.retryAfterMs };
  }
}
