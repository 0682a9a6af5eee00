import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { call, createClient, submitSelftest, waitForJobEnd } from "./helpers";

const handlers: ExportedHandler<Env> = worker;

/** GET /health against the worker with some bindings replaced, as when one of them is unreachable. */
async function healthWith(headers: Record<string, string>, overrides: Partial<Env>): Promise<Response> {
  return handlers.fetch!(new Request("http://engine.test/health", { headers }) as Request<unknown, IncomingRequestCfProperties>, { ...env, ...overrides }, createExecutionContext());
}

describe("GET /health", () => {
  it("reports live checks of D1 and R2, the queue bindings, the caller's own dead letters, and its job counts", async () => {
    const headers = await createClient("health-ok");
    await waitForJobEnd(await submitSelftest(headers, { content_id: "h", tasks: 1 }), headers);
    const deadLetter = env.DB.prepare(`INSERT INTO dead_letters (id, queue, body, attempts, created_at, client) VALUES (?, ?, '{}', 1, ?, ?)`);
    const now = new Date().toISOString();
    await env.DB.batch([
      deadLetter.bind(`health-${crypto.randomUUID()}`, "task-engine-callbacks-dlq", now, "health-ok"),
      // Another client's dead letters are not this client's business.
      deadLetter.bind(`health-${crypto.randomUUID()}`, "task-engine-callbacks-dlq", now, "someone-else"),
      deadLetter.bind(`health-${crypto.randomUUID()}`, "task-engine-tasks-dlq", now, "someone-else"),
    ]);
    const response = await call("/health", { headers });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, any>;
    expect(body).toMatchObject({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      databases: { d1: "OK" },
      storage: { r2: "OK" },
      queues: { tasks: { binding: "present", dead_letters: 0 }, callbacks: { binding: "present", dead_letters: 1 } },
      jobs: { completed: 1, started: 0, queued: 0, max_jobs: 2, priority_slots: 0 },
    });
  });

  it("answers 500 and names the check that failed when a binding is unreachable", async () => {
    const headers = await createClient("health-broken");
    const brokenBucket = { head: () => Promise.reject(new Error("R2 bucket unreachable")) } as unknown as R2Bucket;
    const response = await healthWith(headers, { MEDIA: brokenBucket });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ databases: { d1: "OK" }, storage: { r2: "FAILED: R2 bucket unreachable" } });

    const missingQueue = await healthWith(headers, { CALLBACK_QUEUE: undefined as unknown as Queue });
    expect(missingQueue.status).toBe(500);
    expect(await missingQueue.json()).toMatchObject({ queues: { tasks: { binding: "present" }, callbacks: { binding: "FAILED: binding missing" } } });
  });
});
