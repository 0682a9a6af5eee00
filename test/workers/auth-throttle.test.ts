import { describe, expect, it } from "vitest";
import { call, callWithBindings, createClient } from "./helpers";

/**
 * Failed authentication is throttled (P5 item 8), here through the real Workers Rate Limiting binding: an
 * address with 20 failures in a minute is blocked, while clients that share it keep their valid keys. The
 * rules one by one (client-name budget, IPv6 /64) are unit-tested in test/unit/auth-throttle.test.ts.
 */

/**
 * The local rate limiter counts in windows aligned to the wall clock's minutes: a test that crossed into a
 * new window would see its count start again. It starts with at least 15 s of its window left.
 */
async function freshWindow(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

const get = (headers: Record<string, string>) => call("/jobs", { headers });

describe("failed authentication", () => {
  it("blocks an address after 20 failures a minute, answered 429 before any body or D1 read, sparing credentials known good", { timeout: 30_000 }, async () => {
    await freshWindow();
    const address = "203.0.113.10";
    const neighbour = await createClient("throttle-neighbour");
    // The neighbour shares the address (a NAT) and authenticated from it before the trouble started.
    expect((await get({ ...neighbour, "cf-connecting-ip": address })).status).toBe(200);
    const latecomer = await createClient("throttle-latecomer");
    const wrong = { client: "throttle-neighbour", "api-key": "wrong", "cf-connecting-ip": address };
    for (let i = 0; i < 20; i++) expect((await get(wrong)).status).toBe(401);
    const throttled = await get(wrong);
    expect(throttled.status).toBe(429);
    expect(await throttled.json()).toMatchObject({ code: "rate_limited", error: expect.stringMatching(/Too many failed authentications/) });
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(throttled.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    // Refused before its body is read: a body that would be a 415 gets the 429.
    const withBody = await call("/job", { method: "POST", headers: { ...wrong, "content-type": "text/plain" }, body: "x" });
    expect(withBody.status).toBe(429);
    // The neighbour's verified key still works from the blocked address; a key not verified from it waits.
    expect((await get({ ...neighbour, "cf-connecting-ip": address })).status).toBe(200);
    expect((await get({ ...latecomer, "cf-connecting-ip": address })).status).toBe(429);
    expect((await get({ ...latecomer, "cf-connecting-ip": "198.51.100.20" })).status).toBe(200);
    // Wrong admin tokens count against the address too; the right token passes a blocked address.
    const admin = (token: string) => callWithBindings("/admin/clients/throttle-neighbour", { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": address } }, { ADMIN_TOKEN: "the-token" });
    expect((await admin("nope")).status).toBe(429);
    expect((await admin("the-token")).status).toBe(200);
  });
});
