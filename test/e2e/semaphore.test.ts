import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Engine, sleep, type Accepted, type Client, type JobObject } from "./harness";

/**
 * `job.semaphore_url` against a real HTTP server (api.md, POST /job): the job waits in `scheduled` while a
 * GET on the URL answers anything but 2xx/3xx (or cannot connect), polled every `schedule_interval`; it is
 * queued and runs once the URL answers 2xx/3xx, and the polling stops.
 */

/** A gate per path: the status each GET gets, and every GET received (time and method). */
class Gates {
  readonly status = new Map<string, number>();
  readonly hits = new Map<string, { at: number; method: string }[]>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Gates> {
    let gates: Gates | undefined;
    const server = createServer((req, res) => {
      const path = req.url ?? "/";
      gates!.hits.set(path, [...(gates!.hits.get(path) ?? []), { at: Date.now(), method: req.method ?? "" }]);
      const status = gates!.status.get(path) ?? 404;
      res.writeHead(status, status >= 300 && status < 400 ? { location: "/elsewhere" } : {}).end(String(status));
    });
    server.keepAliveTimeout = 500;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    gates = new Gates(server);
    return gates;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  count(path: string): number {
    return this.hits.get(path)?.length ?? 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let engine: Engine;
let gates: Gates;
let client: Client;

beforeAll(async () => {
  gates = await Gates.start();
  engine = await Engine.start({ name: "semaphore" });
  client = await engine.createClient("e2e-semaphore");
  await engine.setSetting(client, "schedule_interval", "1");
  await engine.setSetting(client, "max_jobs", "8");
});

afterAll(async () => {
  await engine?.destroy();
  await gates?.stop();
});

async function submitGated(contentId: string, semaphoreUrl: string): Promise<Accepted> {
  const response = await engine.request<Accepted>("POST", "/job", {
    headers: client.headers,
    body: { job: { workflow: "selftest", semaphore_url: semaphoreUrl }, parameters: { content_id: contentId, tasks: 1 } },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body;
}

const state = async (id: string): Promise<string> => (await engine.getJob(client, id)).queue_state;

describe("semaphore_url", () => {
  test("holds a job in scheduled while the URL answers 503 or cannot be reached; runs it once it answers 2xx/3xx", async () => {
    gates.status.set("/closed", 503);
    gates.status.set("/failing", 500);
    gates.status.set("/redirect", 302);
    gates.status.set("/open", 204);
    // A port nothing listens on: connection refused.
    const unreachable = "http://127.0.0.1:9/gate";

    const closed = await submitGated("closed", gates.url("/closed"));
    const failing = await submitGated("failing", gates.url("/failing"));
    const redirect = await submitGated("redirect", gates.url("/redirect"));
    const open = await submitGated("open", gates.url("/open"));
    const refused = await submitGated("refused", unreachable);
    for (const accepted of [closed, failing, redirect, open, refused]) expect(accepted.queue_state).toBe("scheduled");

    // 2xx and 3xx open the gate at the first poll.
    const ranAt = await Promise.all([redirect, open].map(async (accepted) => (await engine.waitForJob(client, accepted.id, 15_000)).queue_state));
    expect(ranAt).toEqual(["completed", "completed"]);

    // The others are polled about once a second and stay scheduled.
    await sleep(3_500);
    for (const [label, accepted] of [["503", closed], ["500", failing], ["refused", refused]] as const) expect(await state(accepted.id), label).toBe("scheduled");
    expect(gates.count("/closed")).toBeGreaterThanOrEqual(3);
    expect(gates.count("/failing")).toBeGreaterThanOrEqual(3);
    expect(gates.count("/closed")).toBeLessThanOrEqual(8);
    expect(gates.hits.get("/closed")!.every((hit) => hit.method === "GET")).toBe(true);
    const closedJob = await engine.getJob(client, closed.id);
    expect(closedJob.tasks.every((task) => task.started_at === null)).toBe(true);

    // Opening the gate lets the job run; polling stops.
    const openedAt = Date.now();
    gates.status.set("/closed", 200);
    const done = await engine.waitForJob(client, closed.id, 15_000);
    expect(done).toMatchObject({ queue_state: "completed", failed: false });
    expect(Date.parse(done.tasks[0]!.started_at!)).toBeGreaterThanOrEqual(openedAt - 50);
    const pollsAtEnd = gates.count("/closed");
    const openPolls = { redirect: gates.count("/redirect"), open: gates.count("/open") };
    await sleep(2_500);
    expect(gates.count("/closed")).toBe(pollsAtEnd);
    expect({ redirect: gates.count("/redirect"), open: gates.count("/open") }).toEqual(openPolls);
    expect(openPolls).toEqual({ redirect: 1, open: 1 });
    expect(await state(failing.id)).toBe("scheduled");
    expect(await state(refused.id)).toBe("scheduled");

    // PATCH semaphore_url: to null (run now) or to an open gate.
    const cleared = await engine.request("PATCH", `/jobs/${failing.id}`, { headers: client.headers, body: { semaphore_url: null } });
    expect(cleared.status).toBe(200);
    const moved = await engine.request("PATCH", `/jobs/${refused.id}`, { headers: client.headers, body: { semaphore_url: gates.url("/open") } });
    expect(moved.status).toBe(200);
    const finished: JobObject[] = await Promise.all([failing, refused].map((accepted) => engine.waitForJob(client, accepted.id, 15_000)));
    expect(finished.map((job) => job.queue_state)).toEqual(["completed", "completed"]);
  });
});
