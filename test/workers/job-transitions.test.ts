import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { call, createClient, getJson, indexed, indexRow, interceptFetch, jobObject, postJson, rows, submitSelftest, waitFor, waitForJobEnd, type JobObject, type RecordedRequest } from "./helpers";

/**
 * PATCH /jobs/{id} (api.md): every field in every queue state the API shows, allowed (200) or forbidden
 * (409, nothing changed), and what pause / resume / break do to a job's tasks, its client's slots and its
 * callbacks (callbacks.md). Callbacks are observed as a receiver sees them: outbound fetch is intercepted.
 *
 * Where the spec is silent the reference system (vualto-task-engine.md §2, §5, §6) and these choices hold:
 * - `queue_state: "queued"` resumes a paused job; on a job that is already waiting (queued or scheduled) it
 *   is accepted and changes nothing (a scheduled job stays scheduled until its run_at / semaphore let it
 *   go); on any other job it is a 409. `queue_state: "paused"` on a paused job is likewise accepted.
 * - `run_at` and `semaphore_url` are admission triggers: they can change until the job first starts (also
 *   while a never-started job is paused), then 409.
 * - An ended job (completed, failed or broken) can only change `persist` (the reference's only field that
 *   matters after the end: retention).
 * - Pause frees the job's slot at once (its running tasks finish outside the client's max_jobs); resume
 *   puts it back in the queue. Neither sends a callback of its own (callbacks.md lists none).
 * - Break abandons running tasks (their late results are ignored, no `complete` callback), cancels pending
 *   ones (skipped/cancelled tasks send nothing) and ends the job: queue_state `broken`, `failed: true`,
 *   one job callback `status: "failed", message: "job cancelled"`. The reference marks a broken job's tasks
 *   failed; here they show `cancelled` (with message "job cancelled"), which is what happened to them.
 */

type Auth = Record<string, string>;

const HOOK = "https://cms.transitions.invalid/hook";
const SEMAPHORE = "https://semaphore.transitions.invalid";
const CLOSED = `${SEMAPHORE}/closed`;
const OPEN = `${SEMAPHORE}/open`;
const FUTURE = "2099-01-01T00:00:00.000Z";
/** An hour: a failed attempt waits this long for its retry, so a job stays `started` with no task running. */
const STUCK_RETRY_DELAY = "3600";

let received: RecordedRequest[];
let semaphoreSerial = 0;

beforeAll(() => {
  received = interceptFetch((url) => {
    if (url.startsWith(`${OPEN}`)) return new Response("go", { status: 200 });
    if (url.startsWith(SEMAPHORE)) return new Response("not yet", { status: 503 });
    return new Response("ok", { status: 200 });
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

async function newClient(name: string, settings: Record<string, string> = {}): Promise<Auth> {
  const headers = await createClient(name);
  // Polling job objects exceeds the default burst; the rate limit has its own tests.
  for (const [setting, value] of Object.entries({ rate_limit: "100000", rate_burst: "100000", ...settings })) {
    const response = await postJson("/settings", { name: setting, setting: value }, headers);
    expect(response.status, `setting ${setting}`).toBe(200);
  }
  return headers;
}

async function patch(id: string, body: unknown, headers: Auth): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await call(`/jobs/${id}`, { method: "PATCH", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function until(id: string, headers: Auth, done: (job: JobObject) => boolean, timeoutMs = 30_000): Promise<JobObject> {
  return waitFor(() => jobObject(id, headers), done, timeoutMs);
}

const taskStates = (job: JobObject): string[] => job.tasks!.map((task) => task.state);

/** A semaphore URL of its own, so a test can see it was polled. */
function closedSemaphore(): string {
  return `${CLOSED}?n=${++semaphoreSerial}`;
}

function polls(url: string): number {
  return received.filter((request) => request.url === url && request.method === "GET").length;
}

interface CallbackBody {
  job_id: string;
  sequence: number;
  task_name?: string;
  event?: string;
  status?: string;
  message: string;
}

/** The callbacks the receiver got for a job, in arrival order. */
function callbackBodies(jobId: string): CallbackBody[] {
  return received
    .filter((request) => request.url === HOOK)
    .map((request) => JSON.parse(request.body) as CallbackBody)
    .filter((body) => body.job_id === jobId);
}

/** `task_1 start`, `job failed: job cancelled`, … in arrival order. */
function callbackEvents(jobId: string): string[] {
  return callbackBodies(jobId).map((body) => (body.task_name !== undefined ? `${body.task_name} ${body.event}` : `job ${body.status}: ${body.message}`));
}

/**
 * Waits until the delivery log holds `count` callbacks for the job, all delivered, and the receiver got
 * each once; returns what the receiver got.
 */
async function settledCallbacks(jobId: string, headers: Auth, count: number): Promise<string[]> {
  const log = await waitFor(
    async () => (await getJson<{ state: string; event: string; sequence: number }[]>(`/jobs/${jobId}/callbacks`, headers)).body,
    (entries) => entries.length >= count && entries.every((entry) => entry.state === "delivered") && callbackBodies(jobId).length >= entries.length,
  );
  expect(log).toHaveLength(count);
  expect(log.map((entry) => entry.sequence)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  const bodies = callbackBodies(jobId);
  expect(bodies.map((body) => body.sequence)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  return callbackEvents(jobId);
}

/** What a user can see of a job's PATCHable fields: the job object, plus semaphore_url from its D1 row. */
interface View {
  queue_state: string;
  failed: boolean;
  priority: number;
  run_at: string | null;
  persist: boolean;
  semaphore_url: string | null;
  /** Whether the job object gives it a place in the queue (only queued jobs have one). */
  in_queue: boolean;
}

interface JobRowView {
  queue_state: string;
  failed: number;
  priority: number;
  run_at: string | null;
  persist: number;
  semaphore_url: string | null;
}

async function view(id: string, headers: Auth): Promise<View> {
  const row = await indexRow<JobRowView>(id);
  const job = await jobObject(id, headers);
  // The job object (the coordinator's) and the D1 index row, once it caught up, must agree.
  expect({ queue_state: row!.queue_state, failed: row!.failed === 1, priority: row!.priority, run_at: row!.run_at, persist: row!.persist === 1 }).toEqual({
    queue_state: job.queue_state,
    failed: job.failed,
    priority: job.priority,
    run_at: job.run_at,
    persist: job.persist,
  });
  return {
    queue_state: job.queue_state,
    failed: job.failed,
    priority: job.priority,
    run_at: job.run_at,
    persist: job.persist,
    semaphore_url: row!.semaphore_url,
    in_queue: job.position !== null,
  };
}

/** Everything a user (and D1) can see of a job, for "nothing changed" checks. */
async function everything(id: string, headers: Auth): Promise<unknown> {
  return {
    row: await indexRow(id),
    job: await jobObject(id, headers),
    logs: (await getJson<unknown[]>(`/logs/${id}`, headers)).body.length,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------------------

const STATES = [
  "queued",
  "scheduled (run_at in the future)",
  "scheduled (semaphore answers 503)",
  "started",
  "paused (before it started)",
  "paused (after it started)",
  "broken",
  "completed",
  "completed (failed)",
] as const;
type StateName = (typeof STATES)[number];

const PATCHES = {
  "queue_state paused": { queue_state: "paused" },
  "queue_state broken": { queue_state: "broken" },
  "queue_state queued": { queue_state: "queued" },
  priority: { priority: 2 },
  "run_at in the future": { run_at: "2098-06-01T12:00:00.000" },
  "run_at in the past": { run_at: "2001-02-03T04:05:06.789Z" },
  semaphore_url: { semaphore_url: `${CLOSED}?patched=1` },
  "semaphore_url null": { semaphore_url: null },
  persist: { persist: true },
} as const;
type PatchName = keyof typeof PATCHES;

type Outcome = { status: 200; then: Partial<View> } | { status: 409; says: RegExp };

const ok = (then: Partial<View> = {}): Outcome => ({ status: 200, then });
const conflict = (says: RegExp): Outcome => ({ status: 409, says });

const PAUSED = { queue_state: "paused" };
const BROKEN = { queue_state: "broken", failed: true };
const PRIORITY = { priority: 2 };
const RUN_AT_FUTURE = { run_at: "2098-06-01T12:00:00.000Z" };
const RUN_AT_PAST = { run_at: "2001-02-03T04:05:06.789Z" };
const SEMAPHORE_PATCHED = { semaphore_url: `${CLOSED}?patched=1` };
const PERSIST = { persist: true };
const NOT_RESUMABLE = /^Only a paused job can be resumed; this one is started\.$/;
const TOO_LATE = /^run_at and semaphore_url can only change before the job starts\.$/;
const ended = (state: string): Outcome => conflict(new RegExp(`^The job has ended \\(${state}\\); only persist can change\\.$`));

const EXPECTED: Record<StateName, Record<PatchName, Outcome>> = {
  queued: {
    "queue_state paused": ok(PAUSED),
    "queue_state broken": ok(BROKEN),
    "queue_state queued": ok(),
    priority: ok(PRIORITY),
    "run_at in the future": ok({ queue_state: "scheduled", ...RUN_AT_FUTURE }),
    "run_at in the past": ok(RUN_AT_PAST),
    semaphore_url: ok({ queue_state: "scheduled", ...SEMAPHORE_PATCHED }),
    "semaphore_url null": ok(),
    persist: ok(PERSIST),
  },
  "scheduled (run_at in the future)": {
    "queue_state paused": ok(PAUSED),
    "queue_state broken": ok(BROKEN),
    // Accepted, but its run_at still holds it.
    "queue_state queued": ok(),
    priority: ok(PRIORITY),
    "run_at in the future": ok(RUN_AT_FUTURE),
    // The reference: "a past time queues the job now".
    "run_at in the past": ok({ queue_state: "queued", ...RUN_AT_PAST }),
    semaphore_url: ok(SEMAPHORE_PATCHED),
    "semaphore_url null": ok(),
    persist: ok(PERSIST),
  },
  "scheduled (semaphore answers 503)": {
    "queue_state paused": ok(PAUSED),
    "queue_state broken": ok(BROKEN),
    "queue_state queued": ok(),
    priority: ok(PRIORITY),
    "run_at in the future": ok(RUN_AT_FUTURE),
    // Its time has come, but the semaphore is still closed.
    "run_at in the past": ok(RUN_AT_PAST),
    semaphore_url: ok(SEMAPHORE_PATCHED),
    "semaphore_url null": ok({ queue_state: "queued", semaphore_url: null }),
    persist: ok(PERSIST),
  },
  started: {
    "queue_state paused": ok(PAUSED),
    "queue_state broken": ok(BROKEN),
    "queue_state queued": conflict(NOT_RESUMABLE),
    priority: ok(PRIORITY),
    "run_at in the future": conflict(TOO_LATE),
    "run_at in the past": conflict(TOO_LATE),
    semaphore_url: conflict(TOO_LATE),
    "semaphore_url null": conflict(TOO_LATE),
    persist: ok(PERSIST),
  },
  "paused (before it started)": {
    "queue_state paused": ok(),
    "queue_state broken": ok(BROKEN),
    "queue_state queued": ok({ queue_state: "queued" }),
    priority: ok(PRIORITY),
    // Stored for when it is resumed; it stays paused.
    "run_at in the future": ok(RUN_AT_FUTURE),
    "run_at in the past": ok(RUN_AT_PAST),
    semaphore_url: ok(SEMAPHORE_PATCHED),
    "semaphore_url null": ok(),
    persist: ok(PERSIST),
  },
  "paused (after it started)": {
    "queue_state paused": ok(),
    "queue_state broken": ok(BROKEN),
    // Its client has free slots: it starts again at once.
    "queue_state queued": ok({ queue_state: "started" }),
    priority: ok(PRIORITY),
    "run_at in the future": conflict(TOO_LATE),
    "run_at in the past": conflict(TOO_LATE),
    semaphore_url: conflict(TOO_LATE),
    "semaphore_url null": conflict(TOO_LATE),
    persist: ok(PERSIST),
  },
  broken: {
    "queue_state paused": ended("broken"),
    "queue_state broken": ended("broken"),
    "queue_state queued": ended("broken"),
    priority: ended("broken"),
    "run_at in the future": ended("broken"),
    "run_at in the past": ended("broken"),
    semaphore_url: ended("broken"),
    "semaphore_url null": ended("broken"),
    persist: ok(PERSIST),
  },
  completed: {
    "queue_state paused": ended("completed"),
    "queue_state broken": ended("completed"),
    "queue_state queued": ended("completed"),
    priority: ended("completed"),
    "run_at in the future": ended("completed"),
    "run_at in the past": ended("completed"),
    semaphore_url: ended("completed"),
    "semaphore_url null": ended("completed"),
    persist: ok(PERSIST),
  },
  "completed (failed)": {
    "queue_state paused": ended("completed"),
    "queue_state broken": ended("completed"),
    "queue_state queued": ended("completed"),
    priority: ended("completed"),
    "run_at in the future": ended("completed"),
    "run_at in the past": ended("completed"),
    semaphore_url: ended("completed"),
    "semaphore_url null": ended("completed"),
    persist: ok(PERSIST),
  },
};

/**
 * Three clients: `waiting` has max_jobs 1 held for an hour by a job whose task waits for its retry, so its
 * other jobs stay queued or scheduled; in `running` every job starts and stays started (its first task
 * waits an hour for a retry); in `ending` jobs run to their end.
 */
const clients = {} as Record<"waiting" | "running" | "ending", Auth>;

async function queuedJob(): Promise<string> {
  const id = await submitSelftest(clients.waiting, { content_id: "m-queued", tasks: 2 });
  await until(id, clients.waiting, (job) => job.queue_state === "queued" && job.position !== null);
  return id;
}

async function startedJob(): Promise<string> {
  const id = await submitSelftest(clients.running, { content_id: "m-started", tasks: 2, fail_task: "task_1", fail_times: 5 });
  await until(id, clients.running, (job) => job.queue_state === "started" && job.tasks![0]!.state === "retrying");
  return id;
}

async function pausedJob(make: () => Promise<string>, headers: Auth): Promise<string> {
  const id = await make();
  expect((await patch(id, { queue_state: "paused" }, headers)).status).toBe(200);
  await until(id, headers, (job) => job.queue_state === "paused");
  return id;
}

const MAKERS: Record<StateName, { client: () => Auth; make: () => Promise<string> }> = {
  queued: { client: () => clients.waiting, make: queuedJob },
  "scheduled (run_at in the future)": {
    client: () => clients.waiting,
    make: async () => {
      const id = await submitSelftest(clients.waiting, { content_id: "m-later", tasks: 2 }, { run_at: FUTURE });
      await until(id, clients.waiting, (job) => job.queue_state === "scheduled" && job.run_at === FUTURE);
      return id;
    },
  },
  "scheduled (semaphore answers 503)": {
    client: () => clients.waiting,
    make: async () => {
      const semaphore = closedSemaphore();
      const id = await submitSelftest(clients.waiting, { content_id: "m-semaphore", tasks: 2 }, { semaphore_url: semaphore });
      // Admission control asked the semaphore, got 503, and keeps the job scheduled.
      await waitFor(async () => polls(semaphore), (count) => count >= 1);
      await until(id, clients.waiting, (job) => job.queue_state === "scheduled");
      return id;
    },
  },
  started: { client: () => clients.running, make: startedJob },
  "paused (before it started)": { client: () => clients.waiting, make: () => pausedJob(queuedJob, clients.waiting) },
  "paused (after it started)": { client: () => clients.running, make: () => pausedJob(startedJob, clients.running) },
  broken: {
    client: () => clients.waiting,
    make: async () => {
      const id = await queuedJob();
      expect((await patch(id, { queue_state: "broken" }, clients.waiting)).status).toBe(200);
      await until(id, clients.waiting, (job) => job.queue_state === "broken");
      return id;
    },
  },
  completed: {
    client: () => clients.ending,
    make: async () => {
      const id = await submitSelftest(clients.ending, { content_id: "m-done", tasks: 1 });
      expect(await waitForJobEnd(id, clients.ending)).toMatchObject({ failed: false });
      return id;
    },
  },
  "completed (failed)": {
    client: () => clients.ending,
    make: async () => {
      const id = await submitSelftest(clients.ending, { content_id: "m-failed", tasks: 1, fail_task: "task_1" });
      expect(await waitForJobEnd(id, clients.ending)).toMatchObject({ failed: true });
      return id;
    },
  },
};

const PERFORMED: Record<PatchName, string> = {
  "queue_state paused": "queue_state",
  "queue_state broken": "queue_state",
  "queue_state queued": "queue_state",
  priority: "priority",
  "run_at in the future": "run_at",
  "run_at in the past": "run_at",
  semaphore_url: "semaphore_url",
  "semaphore_url null": "semaphore_url",
  persist: "persist",
};

const CELLS = STATES.flatMap((state) => (Object.keys(PATCHES) as PatchName[]).map((patchName) => [state, patchName, EXPECTED[state][patchName]] as const));

describe("PATCH /jobs/{id}: every field in every queue state", { timeout: 60_000 }, () => {
  /** One job per state for the forbidden changes: none of them may change it. */
  const shared = new Map<StateName, { id: string; before: unknown }>();

  beforeAll(async () => {
    clients.waiting = await newClient("jt-waiting", { max_jobs: "1", retry_delay: STUCK_RETRY_DELAY });
    clients.running = await newClient("jt-running", { max_jobs: "1000", retry_delay: STUCK_RETRY_DELAY });
    clients.ending = await newClient("jt-ending", { max_jobs: "1000", retry_limit: "0" });
    const blocker = await submitSelftest(clients.waiting, { content_id: "blocker", tasks: 1, fail_task: "task_1", fail_times: 5 });
    await until(blocker, clients.waiting, (job) => job.queue_state === "started" && job.tasks![0]!.state === "retrying");
  }, 20_000);

  it.each(CELLS)("%s + %s", async (state, patchName, outcome) => {
    const { client, make } = MAKERS[state];
    const headers = client();
    if (outcome.status === 409) {
      let job = shared.get(state);
      if (!job) {
        const id = await make();
        job = { id, before: await everything(id, headers) };
        shared.set(state, job);
      }
      const response = await patch(job.id, PATCHES[patchName], headers);
      expect(response.status).toBe(409);
      expect(response.body).toEqual({ error: expect.stringMatching(outcome.says) as unknown, code: "conflict" });
      expect(await everything(job.id, headers)).toEqual(job.before);
      return;
    }
    const id = await make();
    const before = await view(id, headers);
    const response = await patch(id, PATCHES[patchName], headers);
    expect(response.body).toEqual({ id, result: `Performed updates: ${PERFORMED[patchName]}` });
    expect(response.status).toBe(200);
    const expected: View = { ...before, ...outcome.then, in_queue: (outcome.then.queue_state ?? before.queue_state) === "queued" };
    // D1 may lag the coordinator by milliseconds (architecture.md): wait for the row, then compare it all.
    const after = await waitFor(
      () => view(id, headers),
      (seen) => JSON.stringify(seen) === JSON.stringify(expected),
      3_000,
    ).catch(() => view(id, headers));
    expect(after).toEqual(expected);
    if (outcome.then.queue_state === "broken") {
      const job = await jobObject(id, headers);
      expect(taskStates(job).every((task) => task === "cancelled")).toBe(true);
    }
  });

  it("left every job used for the forbidden changes as it was", async () => {
    expect([...shared.keys()].sort()).toEqual(["broken", "completed", "completed (failed)", "paused (after it started)", "started"]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const [state, job] of shared) {
      expect(await everything(job.id, MAKERS[state].client()), state).toEqual(job.before);
    }
  });

  it.each([
    ["started", { priority: 1, run_at: "2001-01-01T00:00:00Z" }, TOO_LATE],
    ["started", { persist: true, queue_state: "queued" }, NOT_RESUMABLE],
    ["paused (after it started)", { priority: 9, semaphore_url: OPEN }, TOO_LATE],
    ["completed", { persist: true, priority: 1 }, /^The job has ended \(completed\); only persist can change\.$/],
    ["broken", { persist: true, queue_state: "queued" }, /^The job has ended \(broken\); only persist can change\.$/],
  ] as const)("a change with one forbidden part changes nothing (%s, %j)", async (state, body, says) => {
    const headers = MAKERS[state].client();
    const id = await MAKERS[state].make();
    const before = await everything(id, headers);
    const response = await patch(id, body, headers);
    expect(response.status).toBe(409);
    expect(response.body).toEqual({ error: expect.stringMatching(says) as unknown, code: "conflict" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await everything(id, headers)).toEqual(before);
  });

  it.each([
    ["queue_state started", { queue_state: "started" }, "queue_state"],
    ["queue_state completed", { queue_state: "completed" }, "queue_state"],
    ["priority 0", { priority: 0 }, "priority"],
    ["an unknown field", { color: "red" }, ""],
    ["nothing to change", {}, ""],
  ] as const)("a request that is not a change (%s) is a 400 and changes nothing", async (_name, body, path) => {
    const id = await queuedJob();
    const before = await everything(id, clients.waiting);
    const response = await patch(id, body, clients.waiting);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: "validation_failed" });
    if (path) expect((response.body.details as { path: string }[]).map((detail) => detail.path)).toContain(path);
    expect(await everything(id, clients.waiting)).toEqual(before);
  });

  it("accepts the reference's misspelling sempahore_url", async () => {
    const id = await queuedJob();
    const semaphore = closedSemaphore();
    expect(await patch(id, { sempahore_url: semaphore }, clients.waiting)).toEqual({ status: 200, body: { id, result: "Performed updates: semaphore_url" } });
    await waitFor(async () => polls(semaphore), (count) => count >= 1);
    expect(await waitFor(() => view(id, clients.waiting), (seen) => seen.queue_state === "scheduled")).toMatchObject({ semaphore_url: semaphore, in_queue: false });
  });

  it("answers the performed fields in one list for a change of several", async () => {
    const id = await queuedJob();
    const response = await patch(id, { persist: "1", run_at: "2098-06-01T12:00:00.000", priority: "3", semaphore_url: `${CLOSED}?several=1` }, clients.waiting);
    expect(response).toEqual({ status: 200, body: { id, result: "Performed updates: priority, run_at, semaphore_url, persist" } });
    const after = await waitFor(
      () => view(id, clients.waiting),
      (seen) => seen.queue_state === "scheduled",
    );
    expect(after).toEqual({
      queue_state: "scheduled",
      failed: false,
      priority: 3,
      run_at: "2098-06-01T12:00:00.000Z",
      persist: true,
      semaphore_url: `${CLOSED}?several=1`,
      in_queue: false,
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------------------

interface StartEnd {
  id: string;
  started_at: string | null;
  ended_at: string | null;
}

/** When the jobs started and ended, from their D1 index rows (once they caught up). */
async function startsAndEnds(...ids: string[]): Promise<StartEnd[]> {
  return Promise.all(ids.map(async (id) => (await indexRow<StartEnd>(id))!));
}

/** A job that holds its client's only slot for an hour without running anything (its task waits for a retry). */
async function blockSlot(headers: Auth): Promise<string> {
  const id = await submitSelftest(headers, { content_id: "blocker", tasks: 1, fail_task: "task_1", fail_times: 5 });
  await until(id, headers, (job) => job.queue_state === "started" && job.tasks![0]!.state === "retrying");
  return id;
}

describe("pause, resume and break", { timeout: 60_000 }, () => {
  it("pause: the running task finishes, no new task starts, the slot goes to the next job; resume runs the job to its end", async () => {
    const headers = await newClient("jt-pause", { max_jobs: "1" });
    const paused = await submitSelftest(headers, { content_id: "pause-a", tasks: 3, task_ms: 300, rest_endpoints: [HOOK] });
    await until(paused, headers, (job) => job.queue_state === "started");
    const next = await submitSelftest(headers, { content_id: "pause-b", tasks: 1, rest_endpoints: [HOOK] });
    expect(await until(next, headers, (job) => job.position !== null)).toMatchObject({ queue_state: "queued", position: 1, top_of_queue: true });
    await until(paused, headers, (job) => job.tasks![0]!.state === "running");

    expect(await patch(paused, { queue_state: "paused" }, headers)).toEqual({ status: 200, body: { id: paused, result: "Performed updates: queue_state" } });

    // The slot is free at once: the other job runs to its end while the first is paused.
    expect(await waitForJobEnd(next, headers)).toMatchObject({ queue_state: "completed", failed: false });
    // The running task was not stopped: it completed, and nothing after it started.
    let job = await until(paused, headers, (seen) => seen.tasks![0]!.state === "completed");
    expect(job).toMatchObject({ queue_state: "paused", failed: false });
    expect(taskStates(job)).toEqual(["completed", "pending", "pending"]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    job = await jobObject(paused, headers);
    expect(job).toMatchObject({ queue_state: "paused", failed: false, position: null });
    expect(taskStates(job)).toEqual(["completed", "pending", "pending"]);
    // Pausing sends no callback of its own.
    expect(await settledCallbacks(paused, headers, 2)).toEqual(["task_1 start", "task_1 complete"]);
    await indexed(paused, next);
    const dashboard = await getJson<{ started: JobObject[]; queued: JobObject[] }>("/dashboard", headers);
    expect(dashboard.body.started.map((seen) => seen.id)).toEqual([]);
    expect((await getJson<{ jobs: Record<string, number> }>("/health", headers)).body.jobs).toMatchObject({ paused: 1, started: 0, queued: 0, completed: 1 });
    expect((await getJson<JobObject[]>("/jobs?state=6", headers)).body.map((seen) => seen.id)).toEqual([paused]);

    // Resume: back through admission control (the slot is free), then the remaining tasks run.
    expect(await patch(paused, { queue_state: "queued" }, headers)).toEqual({ status: 200, body: { id: paused, result: "Performed updates: queue_state" } });
    job = await waitForJobEnd(paused, headers);
    expect(job).toMatchObject({ queue_state: "completed", failed: false, progress: 100, result: { message: "3 tasks completed (chain)" } });
    expect(job.tasks!.map((task) => [task.state, task.attempts])).toEqual([
      ["completed", 1],
      ["completed", 1],
      ["completed", 1],
    ]);
    // Resuming sends no callback of its own either: the job's callbacks are those of a job never paused.
    expect(await settledCallbacks(paused, headers, 7)).toEqual([
      "task_1 start",
      "task_1 complete",
      "task_2 start",
      "task_2 complete",
      "task_3 start",
      "task_3 complete",
      "job completed: 3 tasks completed (chain)",
    ]);
    expect(await settledCallbacks(next, headers, 3)).toEqual(["task_1 start", "task_1 complete", "job completed: 1 tasks completed (chain)"]);
  });

  it("pause and resume at once: the running task is not run twice and the job ends as if never paused", async () => {
    const headers = await newClient("jt-pause-resume", { max_jobs: "1" });
    const id = await submitSelftest(headers, { content_id: "blink", tasks: 2, task_ms: 300, rest_endpoints: [HOOK] });
    await until(id, headers, (job) => job.tasks![0]!.state === "running");
    expect((await patch(id, { queue_state: "paused" }, headers)).status).toBe(200);
    expect((await patch(id, { queue_state: "queued" }, headers)).status).toBe(200);
    const job = await waitForJobEnd(id, headers);
    expect(job).toMatchObject({ failed: false });
    expect(job.tasks!.map((task) => [task.state, task.attempts])).toEqual([
      ["completed", 1],
      ["completed", 1],
    ]);
    expect(await settledCallbacks(id, headers, 5)).toEqual([
      "task_1 start",
      "task_1 complete",
      "task_2 start",
      "task_2 complete",
      "job completed: 2 tasks completed (chain)",
    ]);
  });

  it("pause while the last task runs: the job completes while paused and frees nothing twice", async () => {
    const headers = await newClient("jt-pause-last", { max_jobs: "1" });
    const id = await submitSelftest(headers, { content_id: "last", tasks: 1, task_ms: 300, rest_endpoints: [HOOK] });
    await until(id, headers, (job) => job.tasks![0]!.state === "running");
    const next = await submitSelftest(headers, { content_id: "after-last", tasks: 1, task_ms: 200 });
    expect((await patch(id, { queue_state: "paused" }, headers)).status).toBe(200);
    expect(await waitForJobEnd(id, headers)).toMatchObject({ queue_state: "completed", failed: false, result: { message: "1 tasks completed (chain)" } });
    expect(await settledCallbacks(id, headers, 3)).toEqual(["task_1 start", "task_1 complete", "job completed: 1 tasks completed (chain)"]);
    expect(await waitForJobEnd(next, headers)).toMatchObject({ failed: false });
    // A completed job cannot be resumed.
    expect((await patch(id, { queue_state: "queued" }, headers)).status).toBe(409);
  });

  it("a task that fails while its job is paused waits for the resume before its retry starts", async () => {
    const headers = await newClient("jt-pause-retry", { max_jobs: "1", retry_delay: "0.2" });
    const id = await submitSelftest(headers, { content_id: "retry", tasks: 1, task_ms: 200, fail_task: "task_1", fail_times: 1, rest_endpoints: [HOOK] });
    await until(id, headers, (job) => job.tasks![0]!.state === "running");
    expect((await patch(id, { queue_state: "paused" }, headers)).status).toBe(200);
    // The attempt fails; its retry time (about 0.2 s) passes while the job is paused: no second attempt.
    await until(id, headers, (job) => job.tasks![0]!.state === "pending");
    await new Promise((resolve) => setTimeout(resolve, 400));
    let job = await jobObject(id, headers);
    expect(job).toMatchObject({ queue_state: "paused", failed: false });
    expect(job.tasks!.map((task) => [task.state, task.attempts])).toEqual([["pending", 1]]);
    expect(await settledCallbacks(id, headers, 2)).toEqual(["task_1 start", "task_1 fail"]);
    expect(callbackBodies(id)[1]).toMatchObject({ event: "fail", retrying: true, attempt: 1 });

    expect((await patch(id, { queue_state: "queued" }, headers)).status).toBe(200);
    job = await waitForJobEnd(id, headers);
    expect(job.tasks!.map((task) => [task.state, task.attempts])).toEqual([["completed", 2]]);
    expect(await settledCallbacks(id, headers, 5)).toEqual(["task_1 start", "task_1 fail", "task_1 start", "task_1 complete", "job completed: 1 tasks completed (chain)"]);
    expect(callbackBodies(id)[2]).toMatchObject({ event: "start", attempt: 2 });
  });

  it("break a started job: the running task is abandoned, pending ones cancelled, the slot freed once", async () => {
    const headers = await newClient("jt-break", { max_jobs: "1" });
    const broken = await submitSelftest(headers, { content_id: "break-a", tasks: 3, task_ms: 400, rest_endpoints: [HOOK] });
    await until(broken, headers, (job) => job.queue_state === "started");
    const second = await submitSelftest(headers, { content_id: "break-b", tasks: 1, task_ms: 300, rest_endpoints: [HOOK] });
    const third = await submitSelftest(headers, { content_id: "break-c", tasks: 1, task_ms: 300, rest_endpoints: [HOOK] });
    await until(third, headers, (job) => job.position === 2);
    await until(broken, headers, (job) => job.tasks![0]!.state === "running");

    expect(await patch(broken, { queue_state: "broken" }, headers)).toEqual({ status: 200, body: { id: broken, result: "Performed updates: queue_state" } });
    await until(broken, headers, (job) => job.queue_state === "broken");

    // Never two jobs started at once: the broken job's slot is handed on once, not again when its
    // abandoned task reports back.
    const startedAtOnce: string[][] = [];
    await waitFor(
      async () => {
        const jobs = await Promise.all([second, third, broken].map((id) => jobObject(id, headers)));
        startedAtOnce.push(jobs.filter((job) => job.queue_state === "started").map((job) => job.id));
        return jobs[1]!.queue_state;
      },
      (state) => state === "completed",
    );
    expect(startedAtOnce.every((ids) => ids.length <= 1)).toBe(true);
    expect(startedAtOnce.flat()).toContain(second);
    expect(startedAtOnce.flat()).not.toContain(broken);
    expect(await waitForJobEnd(second, headers)).toMatchObject({ failed: false });
    const [[b], [c]] = await Promise.all([startsAndEnds(second), startsAndEnds(third)]);
    expect(c!.started_at! >= b!.ended_at!).toBe(true);

    // By now the abandoned task has long finished (400 ms); its result was ignored.
    const job = await jobObject(broken, headers);
    expect(job).toMatchObject({ queue_state: "broken", failed: true, position: null });
    expect(job.tasks!.map((task) => [task.task_name, task.state, task.message])).toEqual([
      ["task_1", "cancelled", "job cancelled"],
      ["task_2", "cancelled", "job cancelled"],
      ["task_3", "cancelled", "job cancelled"],
    ]);
    expect(await settledCallbacks(broken, headers, 2)).toEqual(["task_1 start", "job failed: job cancelled"]);
    await indexed(broken, second, third);
    const health = await getJson<{ jobs: Record<string, number> }>("/health", headers);
    expect(health.body.jobs).toMatchObject({ broken: 1, completed: 2, started: 0, queued: 0 });
    expect((await getJson<JobObject[]>("/jobs?state=4", headers)).body.map((seen) => seen.id)).toEqual([broken]);
  });

  it("break a queued job: its tasks are cancelled without running, one job callback, the running job untouched", async () => {
    const headers = await newClient("jt-break-queued", { max_jobs: "1", retry_delay: STUCK_RETRY_DELAY });
    const blocker = await blockSlot(headers);
    const id = await submitSelftest(headers, { content_id: "break-q", tasks: 2, rest_endpoints: [HOOK] });
    await until(id, headers, (job) => job.position === 1);
    expect(await patch(id, { queue_state: "broken" }, headers)).toEqual({ status: 200, body: { id, result: "Performed updates: queue_state" } });
    const job = await until(id, headers, (seen) => seen.queue_state === "broken");
    expect(job).toMatchObject({ failed: true, position: null, top_of_queue: false });
    expect(job.tasks!.map((task) => [task.state, task.attempts, task.started_at])).toEqual([
      ["cancelled", 0, null],
      ["cancelled", 0, null],
    ]);
    expect(await settledCallbacks(id, headers, 1)).toEqual(["job failed: job cancelled"]);
    expect(callbackBodies(id)[0]).toMatchObject({ status: "failed", message: "job cancelled", content_id: "break-q" });
    expect((await startsAndEnds(id))[0]!.started_at).toBeNull();
    expect(await jobObject(blocker, headers)).toMatchObject({ queue_state: "started" });
  });

  it("break a paused job: its completed task stays completed, the rest are cancelled", async () => {
    const headers = await newClient("jt-break-paused", { max_jobs: "1" });
    const id = await submitSelftest(headers, { content_id: "break-p", tasks: 2, task_ms: 200, rest_endpoints: [HOOK] });
    await until(id, headers, (job) => job.tasks![0]!.state === "running");
    expect((await patch(id, { queue_state: "paused" }, headers)).status).toBe(200);
    await until(id, headers, (job) => job.queue_state === "paused" && job.tasks![0]!.state === "completed");
    expect(await patch(id, { queue_state: "broken" }, headers)).toEqual({ status: 200, body: { id, result: "Performed updates: queue_state" } });
    const job = await until(id, headers, (seen) => seen.queue_state === "broken");
    expect(job).toMatchObject({ failed: true, position: null });
    expect(taskStates(job)).toEqual(["completed", "cancelled"]);
    expect(await settledCallbacks(id, headers, 3)).toEqual(["task_1 start", "task_1 complete", "job failed: job cancelled"]);
    // A broken job cannot be resumed.
    expect((await patch(id, { queue_state: "queued" }, headers)).status).toBe(409);
  });

  it("priority changes reorder the queue: position, top_of_queue, the dashboard and the start order follow", async () => {
    const headers = await newClient("jt-order", { max_jobs: "1", retry_delay: STUCK_RETRY_DELAY });
    const blocker = await blockSlot(headers);
    const x = await submitSelftest(headers, { content_id: "x", tasks: 1 });
    const y = await submitSelftest(headers, { content_id: "y", tasks: 1 });
    const z = await submitSelftest(headers, { content_id: "z", tasks: 1 });
    const places = async () =>
      Object.fromEntries(
        await Promise.all(
          [x, y, z].map(async (id, i) => {
            const job = await jobObject(id, headers);
            return [["x", "y", "z"][i]!, [job.position, job.top_of_queue]] as const;
          }),
        ),
      );
    // The dashboard lists from the D1 job index (once it caught up), in the scheduler's queue order.
    const queueOrder = async () => {
      await indexed(x, y, z);
      return (await getJson<{ queued: JobObject[] }>("/dashboard", headers)).body.queued.map((job) => (job.parameters as { content_id: string }).content_id);
    };
    await waitFor(places, (seen) => seen.z![0] === 3);
    expect(await places()).toEqual({ x: [1, true], y: [2, false], z: [3, false] });

    expect(await patch(z, { priority: 1 }, headers)).toEqual({ status: 200, body: { id: z, result: "Performed updates: priority" } });
    expect(await waitFor(places, (seen) => seen.z![0] === 1)).toEqual({ x: [2, false], y: [3, false], z: [1, true] });
    expect(await queueOrder()).toEqual(["z", "x", "y"]);

    expect((await patch(x, { priority: "9" }, headers)).status).toBe(200);
    expect(await waitFor(places, (seen) => seen.x![0] === 3)).toEqual({ x: [3, false], y: [2, false], z: [1, true] });

    // Back to the default priority: submission order decides among equals (z was submitted after y).
    expect((await patch(z, { priority: 5 }, headers)).status).toBe(200);
    expect(await waitFor(places, (seen) => seen.z![0] === 2)).toEqual({ x: [3, false], y: [1, true], z: [2, false] });
    expect(await queueOrder()).toEqual(["y", "z", "x"]);
    expect((await jobObject(x, headers)).priority).toBe(9);

    // Freeing the slot starts them in that order, one at a time.
    expect((await patch(blocker, { queue_state: "broken" }, headers)).status).toBe(200);
    await Promise.all([x, y, z].map((id) => waitForJobEnd(id, headers)));
    const started = await startsAndEnds(x, y, z);
    expect(started.sort((a, b) => (a.started_at! < b.started_at! ? -1 : 1)).map((row) => row.id)).toEqual([y, z, x]);
  });

  it("run_at moves a job between queued and scheduled; a semaphore that opens lets it run", async () => {
    const headers = await newClient("jt-run-at", { max_jobs: "1", retry_delay: STUCK_RETRY_DELAY });
    const blocker = await blockSlot(headers);
    const id = await submitSelftest(headers, { content_id: "moving", tasks: 1 });
    const other = await submitSelftest(headers, { content_id: "other", tasks: 1 });
    await until(other, headers, (job) => job.position === 2);

    expect((await patch(id, { run_at: "2097-07-07T07:07:07.000" }, headers)).status).toBe(200);
    let job = await until(id, headers, (seen) => seen.queue_state === "scheduled");
    expect(job).toMatchObject({ run_at: "2097-07-07T07:07:07.000Z", position: null, top_of_queue: false });
    // The other job moved up.
    expect(await until(other, headers, (seen) => seen.position === 1)).toMatchObject({ top_of_queue: true });
    await indexed(id, other);
    const scheduled = await getJson<JobObject[]>("/jobs?state=scheduled", headers);
    expect(scheduled.body.map((seen) => seen.id)).toEqual([id]);
    const numeric = await getJson<JobObject[]>("/jobs?state=5", headers);
    expect(numeric.body.map((seen) => seen.id)).toEqual([id]);
    expect((await getJson<{ scheduled: JobObject[] }>("/dashboard", headers)).body.scheduled.map((seen) => seen.id)).toEqual([id]);

    // A time in the past queues it now, in its place by priority and submission time (before `other`).
    expect((await patch(id, { run_at: "2000-01-01T00:00:00Z" }, headers)).status).toBe(200);
    job = await until(id, headers, (seen) => seen.queue_state === "queued" && seen.position !== null);
    expect(job).toMatchObject({ run_at: "2000-01-01T00:00:00.000Z", position: 1, top_of_queue: true });
    expect((await jobObject(other, headers)).position).toBe(2);

    // null clears it; the job stays queued.
    expect((await patch(id, { run_at: null }, headers)).status).toBe(200);
    job = await until(id, headers, (seen) => seen.run_at === null);
    expect(job).toMatchObject({ queue_state: "queued", position: 1 });

    // A semaphore that answers 503 holds it in scheduled; one that answers 200 lets it go (and start, once
    // a slot is free).
    const closed = closedSemaphore();
    expect((await patch(id, { semaphore_url: closed }, headers)).status).toBe(200);
    await waitFor(async () => polls(closed), (count) => count >= 1);
    expect(await until(id, headers, (seen) => seen.queue_state === "scheduled")).toMatchObject({ position: null });
    const open = `${OPEN}?job=${id}`;
    expect((await patch(id, { semaphore_url: open }, headers)).status).toBe(200);
    await waitFor(async () => polls(open), (count) => count >= 1);
    expect(await until(id, headers, (seen) => seen.queue_state === "queued")).toMatchObject({ position: 1 });
    expect((await patch(blocker, { queue_state: "broken" }, headers)).status).toBe(200);
    expect(await waitForJobEnd(id, headers)).toMatchObject({ failed: false });
    expect(await waitForJobEnd(other, headers)).toMatchObject({ failed: false });
    const order = await startsAndEnds(id, other);
    expect(order.sort((a, b) => (a.started_at! < b.started_at! ? -1 : 1)).map((row) => row.id)).toEqual([id, other]);
  });

  it("persist toggles on an ended job (completed, failed, broken), and GET /jobs?persist follows", async () => {
    const headers = await newClient("jt-persist", { retry_limit: "0" });
    const done = await submitSelftest(headers, { content_id: "keep-done", tasks: 1 });
    const failed = await submitSelftest(headers, { content_id: "keep-failed", tasks: 1, fail_task: "task_1" });
    await waitForJobEnd(done, headers);
    await waitForJobEnd(failed, headers);
    const broken = await submitSelftest(headers, { content_id: "keep-broken", tasks: 1 }, { run_at: FUTURE });
    expect((await patch(broken, { queue_state: "broken" }, headers)).status).toBe(200);
    await until(broken, headers, (job) => job.queue_state === "broken");
    const persisted = async () => {
      await indexed(done, failed, broken);
      return (await getJson<JobObject[]>("/jobs?persist=1", headers)).body.map((job) => job.id).sort();
    };

    for (const id of [done, failed, broken]) {
      const before = await jobObject(id, headers);
      expect(await patch(id, { persist: true }, headers)).toEqual({ status: 200, body: { id, result: "Performed updates: persist" } });
      const after = await until(id, headers, (job) => job.persist);
      // Only persist changed.
      expect({ ...after, persist: before.persist, updated_at: before.updated_at }).toEqual(before);
    }
    expect(await persisted()).toEqual([done, failed, broken].sort());
    expect(await rows(`SELECT persist FROM jobs WHERE id IN (?, ?, ?)`, done, failed, broken)).toEqual([{ persist: 1 }, { persist: 1 }, { persist: 1 }]);


    expect(await patch(failed, { persist: "false" }, headers)).toEqual({ status: 200, body: { id: failed, result: "Performed updates: persist" } });
    expect(await until(failed, headers, (job) => !job.persist)).toMatchObject({ queue_state: "completed", failed: true, persist: false });
    expect(await persisted()).toEqual([done, broken].sort());
    expect((await getJson<JobObject[]>("/jobs?persist=0", headers)).body.map((job) => job.id)).toEqual([failed]);
  });
});
