import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  coordinatorOf,
  createClient,
  getJson,
  indexed,
  interceptFetch,
  jobObject,
  postJson,
  rows,
  runScheduled,
  submitSelftest,
  waitFor,
  waitForJobEnd,
} from "./helpers";

/**
 * The retention_cleanup schedule, run through the worker's cron handler: ended jobs older than the
 * client's retention_days go with their tasks, logs and delivery log; persisted, recent and unfinished
 * jobs stay. Jobs run for real (queues and consumers); their callbacks reach an intercepted receiver.
 */

const DAY_MS = 86_400_000;
const STORED = ["jobs", "tasks", "logs", "callbacks", "callback_attempts"] as const;

interface Client {
  headers: Record<string, string>;
}

const keeper: Client = { headers: {} };
const failing: Client = { headers: {} };
const waiting: Client = { headers: {} };
const patient: Client = { headers: {} };
const ids = { old: "", oldFailed: "", persisted: "", recent: "", unfinished: "", withinLongerRetention: "" };

async function setting(client: Client, name: string, value: string): Promise<void> {
  expect((await postJson("/settings", { name, setting: value }, client.headers)).status).toBe(200);
}

/** Pretends the job was created `days` ago. */
async function age(id: string, days: number): Promise<void> {
  const then = new Date(Date.now() - days * DAY_MS).toISOString();
  await rows(`UPDATE jobs SET created_at = ?, updated_at = ? WHERE id = ?`, then, then, id);
}

/** What is stored of a job: its D1 index row, and in its coordinator its tasks, log lines, callbacks and attempts. */
async function rowCounts(id: string): Promise<Record<(typeof STORED)[number], number>> {
  const [row] = await rows<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE id = ?`, id);
  const coordinator = coordinatorOf(id);
  const snapshot = await coordinator.snapshot();
  if (!snapshot) return { jobs: row!.n, tasks: 0, logs: 0, callbacks: 0, callback_attempts: 0 };
  const [logs, deliveries] = await Promise.all([coordinator.logs(snapshot.spec.client), coordinator.deliveries(snapshot.spec.client)]);
  return {
    jobs: row!.n,
    tasks: snapshot.state.order.length,
    logs: logs!.length,
    callbacks: deliveries!.length,
    callback_attempts: deliveries!.reduce((sum, callback) => sum + callback.attempts.length, 0),
  };
}

/** Runs a job to its end with its callbacks delivered, so nothing of it is still moving. */
async function settledJob(client: Client, parameters: Record<string, unknown>, job: Record<string, unknown> = {}): Promise<string> {
  const id = await submitSelftest(client.headers, { tasks: 2, rest_endpoints: ["https://cms.receiver.invalid/hook"], ...parameters }, job);
  await waitForJobEnd(id, client.headers);
  await waitFor(
    async () => (await coordinatorOf(id).deliveries(client.headers.client!)) ?? [],
    (found) => found.length > 0 && found.every((row) => row.state === "delivered"),
  );
  return id;
}

/** What the receiver of the `owing` client's callbacks answers (the other receivers answer 200). */
let owedStatus = 500;
const OWED_ENDPOINT = "https://owed.receiver.invalid/hook";

beforeAll(async () => {
  interceptFetch((url) => (url === OWED_ENDPOINT ? new Response("down", { status: owedStatus }) : new Response("ok")));
  keeper.headers = await createClient("keeper-client");
  failing.headers = await createClient("failing-client");
  waiting.headers = await createClient("waiting-client");
  patient.headers = await createClient("patient-client");
  await setting(failing, "retry_limit", "0");
  await setting(waiting, "retry_delay", "3600");
  await setting(patient, "retention_days", "60");

  ids.old = await settledJob(keeper, { content_id: "old" });
  ids.oldFailed = await settledJob(failing, { content_id: "old-failed", fail_task: "task_1" });
  ids.persisted = await settledJob(keeper, { content_id: "persisted" }, { persist: true });
  ids.recent = await settledJob(keeper, { content_id: "recent" });
  ids.withinLongerRetention = await settledJob(patient, { content_id: "patient" });
  ids.unfinished = await submitSelftest(waiting.headers, { content_id: "unfinished", tasks: 1, fail_task: "task_1" });
  await waitFor(
    () => jobObject(ids.unfinished, waiting.headers),
    (job) => job.tasks?.[0]?.state === "retrying",
  );
  // Aged in the D1 job index, which retention reads: each row must be there first.
  await indexed(ids.unfinished);

  for (const id of [ids.old, ids.oldFailed, ids.persisted, ids.unfinished, ids.withinLongerRetention]) await age(id, 40);
  await age(ids.recent, 29);
  expect(await rowCounts(ids.old)).toEqual({ jobs: 1, tasks: 2, logs: 6, callbacks: 5, callback_attempts: 5 });

  await runScheduled(Date.now());
}, 30_000);

afterAll(() => {
  vi.restoreAllMocks();
});

describe("retention cleanup (cron)", () => {
  it("deletes ended jobs older than retention_days with their tasks, logs and delivery log", async () => {
    for (const id of [ids.old, ids.oldFailed]) {
      expect(await rowCounts(id)).toEqual({ jobs: 0, tasks: 0, logs: 0, callbacks: 0, callback_attempts: 0 });
    }
    for (const path of [`/jobs/${ids.old}`, `/logs/${ids.old}`]) {
      expect(await getJson(path, keeper.headers)).toEqual({ status: 404, body: { error: "Job not found.", code: "not_found" } });
    }
    expect((await getJson<unknown[]>("/jobs?limit=100", failing.headers)).body).toEqual([]);
  });

  it("deletes the coordinator's storage of a deleted job", async () => {
    expect(await coordinatorOf(ids.old).snapshot()).toBeNull();
    expect(await coordinatorOf(ids.oldFailed).snapshot()).toBeNull();
  });

  it("keeps persisted jobs, recent jobs, unfinished jobs and jobs within their client's longer retention", async () => {
    const kept: [string, Client][] = [
      [ids.persisted, keeper],
      [ids.recent, keeper],
      [ids.unfinished, waiting],
      [ids.withinLongerRetention, patient],
    ];
    for (const [id, client] of kept) {
      expect((await getJson(`/jobs/${id}`, client.headers)).status).toBe(200);
      const counts = await rowCounts(id);
      expect(counts.jobs, JSON.stringify(Object.entries(ids).find(([, value]) => value === id))).toBe(1);
      expect(counts.logs).toBeGreaterThan(0);
      expect(await coordinatorOf(id).snapshot()).not.toBeNull();
    }
    expect((await rowCounts(ids.persisted)).callback_attempts).toBe(5);
    expect((await jobObject(ids.unfinished, waiting.headers)).queue_state).toBe("started");
  });

  it("changes nothing when it runs again", async () => {
    const before = await rows(`SELECT id FROM jobs ORDER BY id`);
    await runScheduled(Date.now());
    expect(await rows(`SELECT id FROM jobs ORDER BY id`)).toEqual(before);
  });
});

describe("retention cleanup of a job that still owes callbacks", () => {
  it("keeps the job, its rows and its coordinator while callbacks are unsettled; deletes them once settled", async () => {
    const owing: Client = { headers: await createClient("owing-client") };
    // Retries every 2 s, ten times: the callbacks stay pending for the first cleanup run.
    await setting(owing, "callback_retry_schedule", "2,2,2,2,2,2,2,2,2,2");
    const id = await submitSelftest(owing.headers, { content_id: "owed", tasks: 1, rest_endpoints: [OWED_ENDPOINT] });
    await waitForJobEnd(id, owing.headers);
    const callbacksOf = async () => ((await coordinatorOf(id).deliveries("owing-client")) ?? []).map((row) => ({ state: row.state, attempts: row.attempts.length }));
    await waitFor(callbacksOf, (found) => found.length > 0 && found.some((row) => row.attempts > 0));
    await age(id, 40);
    const before = await rowCounts(id);
    expect(before.jobs).toBe(1);
    expect((await callbacksOf()).some((row) => row.state === "pending" || row.state === "in_flight")).toBe(true);

    await runScheduled(Date.now());
    const kept = await rowCounts(id);
    expect({ jobs: kept.jobs, tasks: kept.tasks, callbacks: kept.callbacks }).toEqual({ jobs: 1, tasks: before.tasks, callbacks: before.callbacks });
    expect(kept.logs).toBeGreaterThanOrEqual(before.logs!);
    expect(kept.callback_attempts).toBeGreaterThanOrEqual(before.callback_attempts!);
    expect(await coordinatorOf(id).snapshot()).not.toBeNull();
    expect((await getJson(`/jobs/${id}/callbacks`, owing.headers)).status).toBe(200);

    // The receiver is gone for good: every callback fails, the outbox is settled, and the next run deletes the job.
    owedStatus = 410;
    await waitFor(callbacksOf, (found) => found.every((row) => row.state === "failed"), 15_000);
    await runScheduled(Date.now());
    expect(await rowCounts(id)).toEqual({ jobs: 0, tasks: 0, logs: 0, callbacks: 0, callback_attempts: 0 });
    expect(await coordinatorOf(id).snapshot()).toBeNull();
  }, 30_000);
});
