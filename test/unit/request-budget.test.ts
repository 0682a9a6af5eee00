import { describe, expect, it, vi } from "vitest";
import { drawRequest, forgetLease, type BucketAnswer } from "../../src/api/request-budget";
import { leaseSize, take, type Bucket } from "../../src/domain/token-bucket";

/**
 * A client's requests drawn through an isolate's lease of its token bucket: never more than the bucket
 * grants, one bucket request per lease instead of one per request, concurrent requests sharing one ask.
 */

/** A bucket as the rate limiter object holds it, on a clock the test moves. */
function bucketAt(rate: number, burst: number, clock: { now: number }) {
  let bucket: Bucket | null = null;
  const asks: number[] = [];
  const ask = async (want: number): Promise<BucketAnswer> => {
    asks.push(want);
    await Promise.resolve();
    const result = take(bucket, clock.now, rate, burst, want);
    bucket = result.bucket;
    return result.ok ? { ok: true, granted: result.granted, retryAfterMs: 0 } : { ok: false, granted: 0, retryAfterMs: result.retryAfterMs };
  };
  return { ask, asks };
}

describe("the token bucket", () => {
  it("grants up to `want` whole tokens, at least one, and none when it holds less than one", () => {
    const first = take(null, 0, 10, 20, 8);
    expect(first).toMatchObject({ ok: true, granted: 8, bucket: { tokens: 12 } });
    const rest = take(first.bucket, 0, 10, 20, 100);
    expect(rest).toMatchObject({ ok: true, granted: 12, bucket: { tokens: 0 } });
    const empty = take(rest.bucket, 50, 10, 20, 5);
    expect(empty).toMatchObject({ ok: false, retryAfterMs: 50 });
  });

  it("leases a second's worth of the rate, at most a quarter of the burst, at least one", () => {
    expect(leaseSize(50, 100)).toBe(25);
    expect(leaseSize(10, 100)).toBe(10);
    expect(leaseSize(1, 5)).toBe(1);
    expect(leaseSize(1000, 2)).toBe(1);
  });
});

describe("drawing requests through a lease", () => {
  it("grows a busy isolate's lease up to its size, passes exactly the burst, then refuses with the bucket's wait", async () => {
    const client = `lease-${crypto.randomUUID()}`;
    const { ask, asks } = bucketAt(50, 100, { now: Date.now() });
    const answers = [];
    for (let i = 0; i < 101; i++) answers.push(await drawRequest(client, { rate: 50, burst: 100 }, ask));
    expect(answers.slice(0, 100).every((answer) => answer.ok)).toBe(true);
    expect(answers[100]).toMatchObject({ ok: false });
    expect(answers[100]!.retryAfterMs).toBeGreaterThan(0);
    // One token at first, doubled while each lease is spent in time, never above a quarter of the burst.
    expect(asks.slice(0, 6)).toStrictEqual([1, 2, 4, 8, 16, 25]);
    expect(Math.max(...asks)).toBe(25);
    expect(answers.reduce((sum, answer) => sum + answer.asked, 0)).toBe(asks.length);
    expect(asks.length).toBeLessThanOrEqual(10);
    forgetLease(client);
  });

  it("takes one token at a time for an isolate that sees a request now and then, wasting none", async () => {
    const client = `lease-${crypto.randomUUID()}`;
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    try {
      const { ask, asks } = bucketAt(50, 100, { now: start });
      for (let i = 0; i < 10; i++) {
        vi.setSystemTime(start + i * 1_500);
        expect((await drawRequest(client, { rate: 50, burst: 100 }, ask)).ok).toBe(true);
      }
      expect(asks).toStrictEqual(Array(10).fill(1));
    } finally {
      vi.useRealTimers();
      forgetLease(client);
    }
  });

  it("counts an answer without a grant (an older rate limiter) as the one token asked for", async () => {
    const client = `lease-${crypto.randomUUID()}`;
    let asked = 0;
    const old = async () => (asked++, { ok: true, retryAfterMs: 0 }) as unknown as BucketAnswer;
    expect(await drawRequest(client, { rate: 50, burst: 100 }, old)).toMatchObject({ ok: true, asked: 1 });
    expect(asked).toBe(1);
    forgetLease(client);
  });

  it("makes concurrent requests wait for one ask, and never passes more than the bucket granted", async () => {
    const client = `lease-${crypto.randomUUID()}`;
    const { ask, asks } = bucketAt(4, 10, { now: Date.now() });
    const answers = await Promise.all(Array.from({ length: 30 }, () => drawRequest(client, { rate: 4, burst: 10 }, ask)));
    expect(answers.filter((answer) => answer.ok)).toHaveLength(10);
    // Lease size 2 (a quarter of the burst): five grants, then one refusal that every waiter shares.
    expect(asks.length).toBeLessThanOrEqual(6 + 1);
    forgetLease(client);
  });

  it("forgets a lease when the client's settings change, so the next request asks the bucket with them", async () => {
    const client = `lease-${crypto.randomUUID()}`;
    const clock = { now: Date.now() };
    const loose = bucketAt(100, 100, clock);
    expect((await drawRequest(client, { rate: 100, burst: 100 }, loose.ask)).ok).toBe(true);
    forgetLease(client);
    const strict = bucketAt(1, 1, clock);
    expect((await drawRequest(client, { rate: 1, burst: 1 }, strict.ask)).ok).toBe(true);
    expect((await drawRequest(client, { rate: 1, burst: 1 }, strict.ask)).ok).toBe(false);
    expect(strict.asks).toStrictEqual([1, 1]);
    forgetLease(client);
  });
});
