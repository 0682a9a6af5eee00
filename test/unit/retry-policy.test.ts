import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RetryPolicy } from "../../src/domain/job-state";
import { decideRetry, unitHash } from "../../src/domain/retry-policy";

const policy: RetryPolicy = { limit: 3, delayMs: 5_000, backoff: 2 };

describe("decideRetry", () => {
  it("retries a retryable failure while attempts remain: limit 3 allows attempts 1-4", () => {
    expect([1, 2, 3].map((attempt) => decideRetry(policy, attempt, true, "s").type)).toEqual(["retry", "retry", "retry"]);
    expect(decideRetry(policy, 4, true, "s")).toEqual({ type: "fail" });
  });

  it("never retries a non-retryable failure", () => {
    expect(decideRetry(policy, 1, false, "s")).toEqual({ type: "fail" });
  });

  it("limit 0 fails the first attempt", () => {
    expect(decideRetry({ ...policy, limit: 0 }, 1, true, "s")).toEqual({ type: "fail" });
  });

  it("backs off exponentially with at most ±20 % jitter", () => {
    const delays = [1, 2, 3].map((attempt) => {
      const decision = decideRetry(policy, attempt, true, `job/task/${attempt}`);
      if (decision.type !== "retry") throw new Error("expected a retry");
      return decision.delayMs;
    });
    [5_000, 10_000, 20_000].forEach((base, i) => {
      expect(delays[i]).toBeGreaterThanOrEqual(base * 0.8);
      expect(delays[i]).toBeLessThanOrEqual(base * 1.2);
    });
  });

  it("is deterministic for a seed and spreads different seeds apart", () => {
    expect(decideRetry(policy, 1, true, "job_1/t1/1")).toEqual(decideRetry(policy, 1, true, "job_1/t1/1"));
    const spread = new Set(Array.from({ length: 50 }, (_, i) => JSON.stringify(decideRetry(policy, 1, true, `job_${i}/t1/1`))));
    expect(spread.size).toBeGreaterThan(40);
  });

  it("a zero delay retries at once", () => {
    expect(decideRetry({ ...policy, delayMs: 0 }, 2, true, "x")).toEqual({ type: "retry", delayMs: 0 });
  });

  it("property: the delay is whole and within ±20 % of delay × backoff^(attempt-1)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.integer({ min: 1, max: 25 }),
        fc.boolean(),
        fc.string(),
        (limit, delayMs, backoff, attempt, retryable, seed) => {
          const decision = decideRetry({ limit, delayMs, backoff }, attempt, retryable, seed);
          if (!retryable || attempt > limit) {
            expect(decision).toEqual({ type: "fail" });
            return;
          }
          if (decision.type !== "retry") throw new Error("expected a retry");
          const base = delayMs * Math.pow(backoff, attempt - 1);
          expect(Number.isInteger(decision.delayMs)).toBe(true);
          expect(decision.delayMs).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
          expect(decision.delayMs).toBeLessThanOrEqual(Math.ceil(base * 1.2));
        },
      ),
    );
  });
});

describe("unitHash", () => {
  it("maps any string into [0, 1), the same way every time", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const value = unitHash(text);
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThan(1);
        expect(unitHash(text)).toBe(value);
      }),
    );
  });

  it("is FNV-1a over UTF-16 code units", () => {
    expect(unitHash("")).toBe(0x811c9dc5 / 0x100000000);
    expect(unitHash("a")).toBe(0xe40c292c / 0x100000000);
  });
});
