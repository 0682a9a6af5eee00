import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/api/errors";
import { blockedAddressUntil, failedAuthentication, recentlyVerified, rememberVerified, sourceAddress, VERIFIED_MS, WINDOW_SECONDS } from "../../src/api/auth-throttle";

/** A Workers Rate Limiting binding that allows `limit` calls per key (one window). */
function fakeLimit(limit: number): RateLimit & { calls: string[] } {
  const counts = new Map<string, number>();
  const calls: string[] = [];
  return {
    calls,
    async limit({ key }: RateLimitOptions) {
      calls.push(key);
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      return { success: count <= limit };
    },
  } as RateLimit & { calls: string[] };
}

const unauthorised = new ApiError(401, "unauthorised", "Unauthorised request.");

describe("the source address the throttle counts", () => {
  it("is an IPv4 address as sent, and an IPv6 address by its /64 (one subscriber's block)", () => {
    expect(sourceAddress("203.0.113.7")).toBe("203.0.113.7");
    expect(sourceAddress(" 203.0.113.7 ")).toBe("203.0.113.7");
    expect(sourceAddress("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(sourceAddress("2001:DB8:1:2:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(sourceAddress("2001:db8::5")).toBe("2001:db8:0:0::/64");
    expect(sourceAddress(undefined)).toBeNull();
    expect(sourceAddress("")).toBeNull();
  });
});

describe("failed authentications", () => {
  it("answer 401 within both budgets, then 429 once the address's is spent, and block the address for the window", async () => {
    const limits = { byAddress: fakeLimit(3), byClient: fakeLimit(100) };
    const now = 1_000_000;
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await failedAuthentication(limits, "198.51.100.1", "c", unauthorised, now)).status);
    expect(answers).toStrictEqual([401, 401, 401, 429]);
    expect(blockedAddressUntil("198.51.100.1", now)).toBe(now + WINDOW_SECONDS * 1000);
    expect(blockedAddressUntil("198.51.100.1", now + WINDOW_SECONDS * 1000)).toBeNull();
    expect(blockedAddressUntil("198.51.100.2", now)).toBeNull();
  });

  it("answer 429 to wrong keys past the client name's budget from any address, without blocking those addresses", async () => {
    const limits = { byAddress: fakeLimit(20), byClient: fakeLimit(5) };
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push((await failedAuthentication(limits, `192.0.2.${i}`, "victim", unauthorised)).status);
    expect(answers).toStrictEqual([401, 401, 401, 401, 401, 429, 429]);
    for (let i = 0; i < 7; i++) expect(blockedAddressUntil(`192.0.2.${i}`)).toBeNull();
  });

  it("count a request without an address by client name only, and one without a client name by address only", async () => {
    const limits = { byAddress: fakeLimit(20), byClient: fakeLimit(20) };
    await failedAuthentication(limits, null, "c", unauthorised);
    await failedAuthentication(limits, "192.0.2.50", null, unauthorised);
    expect(limits.byAddress.calls).toStrictEqual(["192.0.2.50"]);
    expect(limits.byClient.calls).toStrictEqual(["c"]);
  });
});

describe("credentials this isolate verified", () => {
  it("pass a blocked address for a window's length, for the same client and key only", () => {
    const now = 5_000_000;
    rememberVerified("acme", "digest-1", now);
    expect(recentlyVerified("acme", "digest-1", now + VERIFIED_MS - 1)).toBe(true);
    expect(recentlyVerified("acme", "digest-1", now + VERIFIED_MS)).toBe(false);
    expect(recentlyVerified("acme", "digest-2", now)).toBe(false);
    expect(recentlyVerified("other", "digest-1", now)).toBe(false);
  });
});
