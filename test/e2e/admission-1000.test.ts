import { createRequire } from "node:module";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Engine, sleep, type Accepted, type Client, type JobObject } from "./harness";

/**
 * 1,000 jobs submitted at once by 3 clients (quality.md, Reliability checks), checked against the engine's
 * own records (the D1 `jobs` rows: started_at and ended_at as the job's coordinator wrote them):
 *
 * - no job is lost, and every job ends;
 * - at no moment does a client have more jobs started than its max_jobs;
 * - reserved slots (api.md, priority_slots / priority_threshold): jobs above the threshold never hold more
 *   than max_jobs − priority_slots slots, jobs at or under it may use all of them;
 * - higher priorities start before lower ones queued at the same time.
 *
 * For the last point every job must be waiting when admission begins: each client's slots are first taken
 * by "blocker" jobs (a task that failed and waits an hour for its retry: a started job that holds its slot
 * without holding a queue consumer), the 1,000 jobs are submitted concurrently and queue behind them, and
 * once every job is in its client's queue the blockers are broken (PATCH queue_state: broken), which frees
 * all slots at once.
 */

interface Profile {
  name: string;
  maxJobs: number;
  prioritySlots: number;
  priorityThreshold: number;
  jobs: number;
}

const PROFILES: Profile[] = [
  { name: "e2e-admit-2", maxJobs: 2, prioritySlots: 0, priorityThreshold: 5, jobs: 333 },
  { name: "e2e-admit-4", maxJobs: 4, prioritySlots: 1, priorityThreshold: 2, jobs: 333 },
  { name: "e2e-admit-8", maxJobs: 8, prioritySlots: 3, priorityThreshold: 3, jobs: 334 },
];
const TASK_MS = 5;
/**
 * The coordinators of the jobs one admission round starts are told in parallel, so their started_at may
 * come out of order by the time those calls take; an inversion larger than this is a real one.
 */
const SAME_ROUND_MS = 100;

interface Row {
  id: string;
  client: string;
  priority: number;
  queue_state: string;
  failed: number;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

let engine: Engine;
const clients = new Map<string, Client>();

beforeAll(async () => {
  engine = await Engine.start({ name: "admission-1000" });
  for (const profile of PROFILES) {
    const client = await engine.createClient(profile.name);
    clients.set(profile.name, client);
    for (const [name, value] of [
      // The test's own polling and the concurrent submissions are far above the default rate limit.
      ["rate_limit", "100000"],
      ["rate_burst", "100000"],
      ["max_jobs", String(profile.maxJobs)],
      ["priority_slots", String(profile.prioritySlots)],
      ["priority_threshold", String(profile.priorityThreshold)],
      // The blockers' failed task waits an hour for its one retry.
      ["retry_limit", "1"],
      ["retry_delay", "3600"],
    ]) {
      await engine.setSetting(client, name!, value!);
    }
  }
}, 120_000);

afterAll(async () => {
  await engine?.destroy();
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function submit(client: Client, priority: number, parameters: Record<string, unknown>): Promise<Accepted> {
  const response = await engine.request<Accepted>("POST", "/job", { headers: client.headers, body: { job: { workflow: "selftest", priority }, parameters } });
  if (response.status !== 202) throw new Error(`POST /job answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(value).slice(0, 500)}`);
    await sleep(200);
  }
}

/** The engine's D1 database file in the engine's persisted state, read with node:sqlite. */
function jobRows(): Row[] {
  const dir = join(engine.persistTo, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((name) => /^[0-9a-f]{64}\.sqlite$/.test(name));
  if (!file) throw new Error(`no D1 database in ${dir}`);
  const { DatabaseSync } = createRequire(import.meta.url)("node:sqlite") as typeof import("node:sqlite");
  const db = new DatabaseSync(join(dir, file), { readOnly: true });
  try {
    return db.prepare(`SELECT id, client, priority, queue_state, failed, created_at, started_at, ended_at FROM jobs ORDER BY id`).all() as unknown as Row[];
  } finally {
    db.close();
  }
}

/** The most jobs (of those `counted`) holding a slot at one moment; an end at the same ms as a start comes first. */
function peakConcurrency(rows: Row[], counted: (row: Row) => boolean = () => true): number {
  const events: [number, number][] = [];
  for (const row of rows.filter(counted)) {
    events.push([Date.parse(row.started_at!), 1], [Date.parse(row.ended_at!), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let peak = 0;
  for (const [, delta] of events) {
    running += delta;
    peak = Math.max(peak, running);
  }
  return peak;
}

/** The largest time by which a job started after a worse-priority job that was waiting with it. */
function worstInversion(rows: Row[]): { ms: number; better?: Row; worse?: Row } {
  const byStart = [...rows].sort((a, b) => Date.parse(a.started_at!) - Date.parse(b.started_at!));
  let worst: { ms: number; better?: Row; worse?: Row } = { ms: 0 };
  // Walking from the last start back, keep the latest start of each priority seen so far.
  const latestStart = new Map<number, Row>();
  for (let i = byStart.length - 1; i >= 0; i--) {
    const worse = byStart[i]!;
    for (const [priority, better] of latestStart) {
      if (priority >= worse.priority) continue;
      const ms = Date.parse(better.started_at!) - Date.parse(worse.started_at!);
      if (ms > worst.ms) worst = { ms, better, worse };
    }
    const seen = latestStart.get(worse.priority);
    if (!seen || Date.parse(seen.started_at!) < Date.parse(worse.started_at!)) latestStart.set(worse.priority, worse);
  }
  return worst;
}

describe("1,000 jobs from 3 clients at once", () => {
  test("no job lost, every job ends, max_jobs and reserved slots hold, priorities first", async () => {
    const timings: Record<string, number> = {};
    const began = Date.now();

    // 1. Blockers take every slot.
    const blockers = new Map<string, string[]>();
    for (const profile of PROFILES) {
      const client = clients.get(profile.name)!;
      const ids = await Promise.all(
        Array.from({ length: profile.maxJobs }, (_, i) => submit(client, 1, { content_id: `blocker-${i}`, tasks: 1, fail_task: "task_1" }).then((job) => job.id)),
      );
      blockers.set(profile.name, ids);
    }
    for (const profile of PROFILES) {
      for (const id of blockers.get(profile.name)!) {
        await engine.waitForJob(clients.get(profile.name)!, id, 30_000, (job) => job.queue_state === "started" && job.tasks[0]?.state === "retrying");
      }
    }
    timings.blockers_ms = Date.now() - began;

    // 2. 1,000 jobs, interleaved across the clients, all in flight at once.
    const next = random(20261128);
    const planned = PROFILES.flatMap((profile) =>
      Array.from({ length: profile.jobs }, (_, i) => ({ profile, priority: 1 + Math.floor(next() * 10), contentId: `${profile.name}-${i}` })),
    );
    const order = planned.map((job, i) => ({ job, key: (i % PROFILES[0]!.jobs) * PROFILES.length + PROFILES.indexOf(job.profile) })).sort((a, b) => a.key - b.key);
    const submitStart = Date.now();
    const accepted = await Promise.all(
      order.map(({ job }) =>
        submit(clients.get(job.profile.name)!, job.priority, { content_id: job.contentId, tasks: 1, task_ms: TASK_MS }).then((answer) => ({ ...job, answer })),
      ),
    );
    timings.submit_ms = Date.now() - submitStart;
    expect(accepted).toHaveLength(1000);
    expect(accepted.every(({ answer }) => answer.result === "accepted" && answer.queue_state === "queued")).toBe(true);
    expect(new Set(accepted.map(({ answer }) => answer.id)).size).toBe(1000);

    // 3. Every job is in its client's queue (the dashboard shows the scheduler's queue positions) and none has started.
    for (const profile of PROFILES) {
      const client = clients.get(profile.name)!;
      const dashboard = await until(
        `${profile.name}: all ${profile.jobs} jobs queued`,
        () => engine.request<{ queued: JobObject[]; started: JobObject[] }>("GET", "/dashboard", { headers: client.headers }),
        (answer) => answer.body.queued.length === profile.jobs && answer.body.queued.every((job) => (job as JobObject & { position: number | null }).position !== null),
        60_000,
      );
      expect(dashboard.body.started.map((job) => job.id).sort()).toEqual([...blockers.get(profile.name)!].sort());
    }
    timings.queued_ms = Date.now() - submitStart;

    // 4. Break the blockers: every slot frees at once, and admission works through full queues.
    const drainStart = Date.now();
    await Promise.all(
      PROFILES.flatMap((profile) =>
        blockers.get(profile.name)!.map(async (id) => {
          const response = await engine.request("PATCH", `/jobs/${id}`, { headers: clients.get(profile.name)!.headers, body: { queue_state: "broken" } });
          expect(response.status, JSON.stringify(response.body)).toBe(200);
        }),
      ),
    );
    for (const profile of PROFILES) {
      const client = clients.get(profile.name)!;
      await until(
        `${profile.name}: all ${profile.jobs} jobs completed`,
        () => engine.request<{ jobs: Record<string, number> }>("GET", "/health", { headers: client.headers }),
        (answer) => answer.body.jobs.completed === profile.jobs,
        180_000,
      );
    }
    timings.drain_ms = Date.now() - drainStart;
    // The D1 rows are written by each job's coordinator as it goes; give the last ones a moment.
    const rows = await until(
      "every job's ended_at in D1",
      async () => jobRows(),
      (found) => found.length === 1000 + 14 && found.every((row) => row.ended_at !== null && row.started_at !== null),
      15_000,
    );
    timings.total_ms = Date.now() - began;

    // 5. Judge the records.
    const report: Record<string, unknown> = { timings };
    for (const profile of PROFILES) {
      const mine = rows.filter((row) => row.client === profile.name);
      const blockerIds = new Set(blockers.get(profile.name));
      const jobs = mine.filter((row) => !blockerIds.has(row.id));
      const submitted = accepted.filter(({ profile: p }) => p === profile);
      // No job lost, every job ended, each with the priority it was given.
      expect(jobs.map((row) => row.id).sort()).toEqual(submitted.map(({ answer }) => answer.id).sort());
      expect(jobs.filter((row) => row.queue_state !== "completed" || row.failed !== 0)).toEqual([]);
      const given = new Map(submitted.map(({ answer, priority }) => [answer.id, priority]));
      expect(jobs.filter((row) => row.priority !== given.get(row.id))).toEqual([]);
      expect(mine.filter((row) => blockerIds.has(row.id)).map((row) => row.queue_state)).toEqual(blockers.get(profile.name)!.map(() => "broken"));

      // max_jobs, counting the blockers too.
      const peak = peakConcurrency(mine);
      expect(peak, `${profile.name}: most jobs started at once`).toBeLessThanOrEqual(profile.maxJobs);
      expect(peakConcurrency(jobs), `${profile.name}: the slots were used`).toBe(profile.maxJobs);

      // Reserved slots: jobs above the threshold share max_jobs − priority_slots; the others may take them all.
      const general = profile.maxJobs - Math.min(profile.prioritySlots, profile.maxJobs);
      const above = (row: Row) => row.priority > profile.priorityThreshold;
      const peakAbove = peakConcurrency(jobs, above);
      expect(peakAbove, `${profile.name}: jobs above priority ${profile.priorityThreshold} at once`).toBeLessThanOrEqual(general);
      expect(peakAbove, `${profile.name}: the general slots were used`).toBe(general);
      expect(peakConcurrency(jobs, (row) => !above(row)), `${profile.name}: jobs at or under the threshold may use every slot`).toBe(profile.maxJobs);

      // Priorities: every job was waiting when admission began, so a better job never starts after a worse one
      // (beyond the spread of one admission round's parallel starts).
      const inversion = worstInversion(jobs);
      const drainMs = Math.max(...jobs.map((row) => Date.parse(row.ended_at!))) - drainStart;
      report[profile.name] = { peak, peakAbove, worstInversionMs: inversion.ms, drainMs, jobsPerSecond: Math.round((profile.jobs / (drainMs / 1000)) * 10) / 10 };
      expect(
        inversion.ms,
        `${profile.name}: priority ${inversion.better?.priority} job ${inversion.better?.id} started ${inversion.ms} ms after priority ${inversion.worse?.priority} job ${inversion.worse?.id}`,
      ).toBeLessThanOrEqual(SAME_ROUND_MS);
    }
    console.log(`admission-1000: ${JSON.stringify(report)}`);
  }, 300_000);
});
