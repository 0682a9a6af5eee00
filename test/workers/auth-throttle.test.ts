import { beforeEach, describe, expect, it } from "vitest";
import { call, callWithBindings, createClient } from "./helpers";

/**
 * Failed authentication is throttled (P5 item 8): per source address (CF-Connecting-IP) and per client
 * name, 429 with Retry-After, without letting a stranger lock a client out of its own valid key.
 */

/**
 * The local rate limiter counts in windows aligned to the wall clock's minutes: a test that crossed into a
 * new window would see its count start again. Each test starts with at least 15 s of its window left.
 */
async function freshWindow(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

const get = (headers: Record<string, string>) => call("/jobs", { headers });

async function statuses(count: number, headers: (i: number) => Record<string, string>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((await get(headers(i))).status);
  return out;
}

describe("failed authentication", () => {
  beforeEach(freshWindow, 20_000);

  it("gives one address 20 failures a minute, then 429 with Retry-After for everything it sends", async () => {
    const client = await createClient("throttle-a");
    const address = "203.0.113.10";
    const wrong = { client: "throttle-a", "api-key": "wrong", "cf-connecting-ip": address };
    expect(await statuses(20, () => wrong)).toStrictEqual(Array(20).fill(401));
    const throttled = await get(wrong);
    expect(throttled.status).toBe(429);
    expect(await throttled.json()).toMatchObject({ code: "rate_limited", error: expect.stringMatching(/Too many failed authentications/) });
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(throttled.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    // The address is blocked for the rest of the window, whoever it claims to be (no key is read)…
    expect((await get({ ...client, "cf-connecting-ip": address })).status).toBe(429);
    expect((await get({ client: "nobody", "api-key": "x", "cf-connecting-ip": address })).status).toBe(429);
    // …while the client, from its own address, is served.
    expect((await get({ ...client, "cf-connecting-ip": "198.51.100.20" })).status).toBe(200);
  });

  it("gives one client name 100 failures a minute from anywhere, then 429 for wrong keys only: its valid key still works", async () => {
    const client = await createClient("throttle-b");
    const wrong = (i: number) => ({ client: "throttle-b", "api-key": `guess-${i}`, "cf-connecting-ip": `2001:db8::${i.toString(16)}` });
    const answers = await statuses(110, wrong);
    expect(answers.slice(0, 100)).toStrictEqual(Array(100).fill(401));
    expect(answers.slice(100)).toStrictEqual(Array(10).fill(429));
    // A stranger's guesses do not lock the client out of its own key, from any address.
    expect((await get({ ...client, "cf-connecting-ip": "2001:db8::ffff" })).status).toBe(200);
    expect((await get(client)).status).toBe(200);
  });

  it("counts missing credentials and wrong admin tokens against the address too", async () => {
    const address = "192.0.2.77";
    const missing = await statuses(20, () => ({ "cf-connecting-ip": address }));
    expect(missing).toStrictEqual(Array(20).fill(401));
    expect((await get({ "cf-connecting-ip": address })).status).toBe(429);

    const admin = "192.0.2.78";
    const wrongToken = () => callWithBindings("/admin/clients/x", { headers: { authorization: "Bearer nope", "cf-connecting-ip": admin } }, { ADMIN_TOKEN: "the-token" });
    for (let i = 0; i < 20; i++) expect((await wrongToken()).status).toBe(401);
    expect((await wrongToken()).status).toBe(429);
    // The address is blocked: even the right token waits out the window.
    const right = await callWithBindings("/admin/clients/x", { headers: { authorization: "Bearer the-token", "cf-connecting-ip": admin } }, { ADMIN_TOKEN: "the-token" });
    expect(right.status).toBe(429);
  });
});
