import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { INDEX_DELAY_MS } from "../../src/coordinator/index-writer";
import { call, createClient, jobObject, postJson, rows, waitForJobEnd } from "./helpers";

/**
 * Idempotency-Key on POST /job (api.md: same key + same body within 24 h → the first job, 200; another
 * body → 409) and the per-client rate limit (token bucket; over it → 429 with Retry-After).
 */

interface Accepted {
  id: string;
  job_id: string;
  result: string;
  queue_state: string;
}

const body = (contentId: string, extra: Record<string, unknown> = {}) => ({ job: { workflow: "selftest" }, parameters: { content_id: contentId, tasks: 1, ...extra } });

async function submit(headers: Record<string, string>, payload: unknown, key?: string): Promise<{ status: number; body: Accepted & { code?: string; error?: string } }> {
  const response = await postJson("/job", payload, key === undefined ? headers : { ...headers, "idempotency-key": key });
  return { status: response.status, body: (await response.json()) as Accepted & { code?: string; error?: string } };
}

/**
 * How many jobs the client has in the D1 job index, once every job made so far is in it: the index row of a
 * new job is written within a quarter second (INDEX_DELAY_MS), so the count is read after twice that.
 */
async function jobCount(client: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 2 * INDEX_DELAY_MS));
  return (await rows<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE client = ?`, client))[0]!.n;
}

async function setting(headers: Record<string, string>, name: string, value: string): Promise<void> {
  expect((await postJson("/settings", { name, setting: value }, headers)).status).toBe(200);
}

describe("Idempotency-Key", () => {
  it("answers the same key with the same body with the first job (200), creating nothing", async () => {
    const headers = await createClient("idem-same");
    const first = await submit(headers, body("a"), "order-1");
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ id: first.body.id, job_id: first.body.id, result: "accepted", queue_state: "queued" });
    await waitForJobEnd(first.body.id, headers);
    const again = await submit(headers, body("a"), "order-1");
    // The replay reports the job as it is now.
    expect(again).toEqual({ status: 200, body: { id: first.body.id, job_id: first.body.id, result: "accepted", queue_state: "completed" } });
    expect(await jobCount("idem-same")).toBe(1);
  });

  it("answers the same key with another body with 409, creating nothing; another key makes another job", async () => {
    const headers = await createClient("idem-conflict");
    const first = await submit(headers, body("a"), "order-2");
    expect(first.status).toBe(202);
    for (const other of [body("b"), body("a", { tasks: 2 }), { ...body("a"), job: { workflow: "selftest", priority: 1 } }]) {
      const refused = await submit(headers, other, "order-2");
      expect(refused.status).toBe(409);
      expect(refused.body).toEqual({ error: "This Idempotency-Key was used in the last 24 hours with another request body.", code: "conflict" });
    }
    expect(await jobCount("idem-conflict")).toBe(1);
    const another = await submit(headers, body("a"), "order-3");
    expect(another.status).toBe(202);
    expect(another.body.id).not.toBe(first.body.id);
    const none = await submit(headers, body("a"));
    expect(none.status).toBe(202);
    expect(await jobCount("idem-conflict")).toBe(3);
  });

  it("creates the job a key names when the request that reserved it died before creating it", async () => {
    const headers = await createClient("idem-orphan");
    const first = await submit(headers, body("a"), "order-orphan");
    expect(first.status).toBe(202);
    // As if that request had reserved the key for a job it then never created.
    const orphan = "01KZZZZZZZZZZZZZZZZZZZZZZZ";
    await env.DB.prepare(`UPDATE idempotency_keys SET job_id = ? WHERE client = ? AND key = ?`).bind(orphan, "idem-orphan", "order-orphan").run();
    expect((await call(`/jobs/${orphan}`, { headers })).status).toBe(404);

    const again = await submit(headers, body("a"), "order-orphan");
    expect(again).toEqual({ status: 200, body: { id: orphan, job_id: orphan, result: "accepted", queue_state: "queued" } });
    expect((await waitForJobEnd(orphan, headers)).failed).toBe(false);
    // Replays now find it, and create nothing more.
    expect((await submit(headers, body("a"), "order-orphan")).body.id).toBe(orphan);
    expect(await jobCount("idem-orphan")).toBe(2);
  });

  it("treats the same body with its keys in another order as the same request", async () => {
    const headers = await createClient("idem-order");
    const first = await submit(headers, { job: { workflow: "selftest", priority: 4 }, parameters: { content_id: "o", tasks: 2 } }, "order-keys");
    expect(first.status).toBe(202);
    const reordered = await submit(headers, { parameters: { tasks: 2, content_id: "o" }, job: { priority: 4, workflow: "selftest" } }, "order-keys");
    expect(reordered).toEqual({ status: 200, body: { ...first.body, queue_state: expect.any(String) } });
    expect(await jobCount("idem-order")).toBe(1);
  });

  it("makes one job of concurrent requests with the same key and body", async () => {
    const headers = await createClient("idem-race");
    const answers = await Promise.all(Array.from({ length: 8 }, () => submit(headers, body("race"), "order-race")));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 202]);
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(1);
    expect(await jobCount("idem-race")).toBe(1);
    expect((await jobObject(answers[0]!.body.id, headers)).client).toBe("idem-race");
  });

  it("forgets a key after 24 hours: it then makes a new job, with the same body or another", async () => {
    const headers = await createClient("idem-expiry");
    const first = await submit(headers, body("a"), "order-4");
    expect(first.status).toBe(202);
    const ageKey = (hours: number) =>
      rows(`UPDATE idempotency_keys SET created_at = ? WHERE client = ? AND key = ?`, new Date(Date.now() - hours * 3_600_000).toISOString(), "idem-expiry", "order-4");
    // Just inside the 24 hours the key still holds.
    await ageKey(23.9);
    expect((await submit(headers, body("a"), "order-4")).body.id).toBe(first.body.id);
    expect((await submit(headers, body("b"), "order-4")).status).toBe(409);
    await ageKey(24.1);
    const sameBody = await submit(headers, body("a"), "order-4");
    expect(sameBody.status).toBe(202);
    expect(sameBody.body.id).not.toBe(first.body.id);
    // The key now names the new job, for another 24 hours.
    expect((await submit(headers, body("a"), "order-4")).body.id).toBe(sameBody.body.id);
    await ageKey(25);
    const otherBody = await submit(headers, body("b"), "order-4");
    expect(otherBody.status).toBe(202);
    expect(await jobCount("idem-expiry")).toBe(3);
  });
});

describe("rate limit", () => {
  it("allows a burst of rate_burst requests, then answers 429 with Retry-After, and nothing of the refused requests happens", async () => {
    const headers = await createClient("limited");
    const other = await createClient("unlimited");
    // Counted before the bucket is drawn on: counting waits for the job index, and the bucket would refill.
    const before = await jobCount("limited");
    await setting(headers, "rate_limit", "1");
    await setting(headers, "rate_burst", "5");
    // The bucket is capped at the new burst on the next request: 5 pass, the 6th is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call("/jobs", { headers })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const refused = await call("/jobs", { headers });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    const seconds = Number(refused.headers.get("retry-after"));
    expect(seconds).toBeLessThanOrEqual(1);
    expect(await refused.json()).toEqual({ error: `Too many requests; try again in ${seconds} s.`, code: "rate_limited" });

    // Refused job submissions create nothing; other clients are not limited.
    const submitted = await postJson("/job", body("refused"), headers);
    expect(submitted.status).toBe(429);
    expect(await jobCount("limited")).toBe(before);
    expect((await call("/jobs", { headers: other })).status).toBe(200);

    // After Retry-After the bucket holds one token again: one request passes, the next is refused.
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + 50));
    expect((await call("/jobs", { headers })).status).toBe(200);
    expect((await call("/jobs", { headers })).status).toBe(429);
    // Over a few seconds the client gets about rate_limit requests a second, never a new burst beyond rate_burst.
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    const burst = await Promise.all(Array.from({ length: 10 }, () => call("/jobs", { headers })));
    const passed = burst.filter((response) => response.status === 200).length;
    expect(passed).toBeGreaterThanOrEqual(3);
    expect(passed).toBeLessThanOrEqual(5);
  }, 20_000);

  it("gives a client with the default settings a burst of 100 requests, then 429", async () => {
    const headers = await createClient("default-limit");
    const first = await Promise.all(Array.from({ length: 100 }, () => call("/health", { headers })));
    expect(first.filter((response) => response.status !== 200).map((response) => response.status)).toEqual([]);
    const second = await Promise.all(Array.from({ length: 100 }, () => call("/health", { headers })));
    const limited = second.filter((response) => response.status === 429);
    // 50 requests a second refill the bucket while the second hundred is served; most of it is refused.
    expect(limited.length).toBeGreaterThan(0);
    for (const response of limited) expect(response.headers.get("retry-after")).toBe("1");
  }, 20_000);
});
