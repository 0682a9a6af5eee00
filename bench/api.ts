// API benchmark (P3 figures): `POST /job` latency at 1 and at 32 concurrent HTTP clients, and `GET /jobs` with
// filters on 100,000 jobs, each figure beside a bare-worker baseline measured in the same run
// (bench/api-baseline/: one D1 INSERT per submit; one indexed D1 query per page of jobs).
//
//   npm run bench:api                  (node --experimental-strip-types bench/api.ts)
//
// Knobs (environment): BENCH_SUBMITS (sequential submits per side, default 100), BENCH_CONCURRENCY (concurrent
// submitters, default 32), BENCH_PER_CLIENT (submits per concurrent submitter, default 20), BENCH_SEED_JOBS (jobs
// of the listing client, default 100000), BENCH_OTHER_JOBS (jobs of a second client, default 20000),
// BENCH_LIST_REQUESTS (requests per listing filter and side, default 50), BENCH_LIST_LIMIT (page size, default
// 50), BENCH_TIMEOUT_MS (one request, default 30000).
//
// The 100,000 jobs are rows written straight into the engine's local D1 database (its SQLite file, real schema,
// after the migrations and before the engine starts), not jobs run through the engine: see bench/README.md.
import { randomBytes } from "node:crypto";
import { cpSync, readdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ulid } from "ulidx";
import { createClient, getText, intEnv, liftedGuards, load, median, migrate, note, pairLine, percentile, postJson, root, run, since, startEngine, startWorker, type ClientHeaders } from "./lib/harness.ts";
// The engine's own listing query builder, called with a stand-in D1 that only records the SQL: the bare worker
// then runs exactly the engine's statement, and EXPLAIN QUERY PLAN explains exactly that statement.
import { listJobsQuery, type JobFilter, type JobRow } from "../src/db/jobs.ts";

const SUBMITS = intEnv("BENCH_SUBMITS", 100);
const CONCURRENCY = intEnv("BENCH_CONCURRENCY", 32);
const PER_CLIENT = intEnv("BENCH_PER_CLIENT", 20);
const SEED_JOBS = intEnv("BENCH_SEED_JOBS", 100_000);
const OTHER_JOBS = intEnv("BENCH_OTHER_JOBS", 20_000);
const LIST_REQUESTS = intEnv("BENCH_LIST_REQUESTS", 50);
const LIMIT = Math.min(100, intEnv("BENCH_LIST_LIMIT", 50));
const TIMEOUT_MS = intEnv("BENCH_TIMEOUT_MS", 30_000);
const ADMIN_TOKEN = `adm_bench_${randomBytes(16).toString("hex")}`;

/** The listing client (seeded jobs), the second tenant, and the submitting client. */
const LIST_CLIENT = "bench";
const OTHER_CLIENT = "bench-other";
const SUBMIT_CLIENT = "bench-submit";

// ─── seeding ────────────────────────────────────────────────────────────────────────────────────────────

/** Deterministic pseudo-random numbers (mulberry32), so every run seeds the same distribution. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: number, table: [T, number][]): T {
  let acc = 0;
  for (const [value, share] of table) {
    acc += share;
    if (random < acc) return value;
  }
  return table[table.length - 1]![0];
}

const WORKFLOWS: [string, number][] = [["selftest", 0.4], ["voddelete", 0.3], ["asset_delete", 0.2], ["drmswitch", 0.1]];
const STATES: [string, number][] = [
  ["completed", 0.85],
  ["broken", 0.03],
  ["queued", 0.05],
  ["scheduled", 0.03],
  ["pending", 0.02],
  ["started", 0.01],
  ["paused", 0.01],
];
const DAY = 86_400_000;
/** Seeded jobs are created over the 30 days before this moment. */
const seedEnd = Date.now() - 3_600_000;
const SPAN = 30 * DAY;

interface Seeded {
  /** Some of the listing client's jobs, for job_ids and the deep cursor. */
  sampleIds: string[];
  middle: { id: string; created_at: string };
  ms: number;
}

/**
 * Writes the jobs rows of both tenants into the engine's local D1 file (node:sqlite, one prepared INSERT, 10,000
 * rows per transaction). The engine is not running yet; its migrations are applied.
 */
async function seed(persist: string): Promise<Seeded> {
  const started = performance.now();
  const dir = join(persist, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((name) => name.endsWith(".sqlite") && name !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 database file in ${dir}`);
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(join(dir, file));
  const insert = db.prepare(
    `INSERT INTO jobs (id, client, workflow, content_id, priority, queue_state, failed, run_at, semaphore_url, persist,
       parameters, result, progress, rerun_of, created_at, updated_at, ended_at, version, started_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL, ?, ?, ?, 1, ?)`,
  );
  const random = prng(42);
  const total = SEED_JOBS + OTHER_JOBS;
  const sampleIds: string[] = [];
  let middle = { id: "", created_at: "" };
  let own = 0;
  const iso = (ms: number): string => new Date(ms).toISOString();
  db.exec("BEGIN");
  for (let i = 0; i < total; i++) {
    // Both tenants' jobs interleave in time, as they would in one engine.
    const client = Math.floor(((i + 1) * SEED_JOBS) / total) > Math.floor((i * SEED_JOBS) / total) ? LIST_CLIENT : OTHER_CLIENT;
    const createdMs = seedEnd - SPAN + Math.floor((i * SPAN) / total) + Math.floor(random() * 1000);
    const id = ulid(createdMs);
    const workflow = pick(random(), WORKFLOWS);
    const state = pick(random(), STATES);
    const failed = state === "completed" && random() < 0.05 ? 1 : 0;
    const priority = random() < 0.8 ? 5 : 1 + Math.floor(random() * 10);
    const persistFlag = random() < 0.02 ? 1 : 0;
    const contentId = `vod-${String(i % 50_000).padStart(5, "0")}`;
    const ended = state === "completed" || state === "broken";
    const began = ended || state === "started";
    const updatedMs = ended ? createdMs + 1000 + Math.floor(random() * 120_000) : began ? createdMs + 500 : createdMs;
    const parameters = JSON.stringify({
      content_id: contentId,
      folder: contentId,
      rest_endpoints: ["https://cms.example.com/api/event/taskenginecallback"],
      custom_data: { ref: `r-${i}` },
      ...(workflow === "selftest" ? { tasks: 3, shape: "chain", task_ms: 0 } : {}),
    });
    const result = state === "completed" ? JSON.stringify({ message: failed ? "task_2 failed: not found" : contentId }) : null;
    insert.run(
      id,
      client,
      workflow,
      contentId,
      priority,
      state,
      failed,
      state === "scheduled" ? iso(seedEnd + DAY) : null,
      persistFlag,
      parameters,
      result,
      state === "completed" ? 100 : 0,
      iso(createdMs),
      iso(updatedMs),
      ended ? iso(updatedMs) : null,
      began ? iso(createdMs + 100) : null,
    );
    if (client === LIST_CLIENT) {
      own++;
      if (own % Math.max(1, Math.floor(SEED_JOBS / 20)) === 0) sampleIds.push(id);
      if (own === Math.ceil(SEED_JOBS / 2)) middle = { id, created_at: iso(createdMs) };
    }
    if ((i + 1) % 10_000 === 0) {
      db.exec("COMMIT");
      db.exec("BEGIN");
    }
  }
  db.exec("COMMIT");
  db.close();
  return { sampleIds, middle, ms: since(started) };
}

// ─── submit latency ─────────────────────────────────────────────────────────────────────────────────────

interface Target {
  name: string;
  /** One POST /job; resolves with its duration in ms. */
  submit(): Promise<number>;
}

let submitted = 0;
function submitBody(): unknown {
  return { job: { workflow: "selftest" }, parameters: { content_id: `submit-${++submitted}`, tasks: 1, task_ms: 0 } };
}

function target(name: string, url: string, headers: Record<string, string>): Target {
  return {
    name,
    async submit() {
      const start = performance.now();
      await postJson(url, submitBody(), headers, TIMEOUT_MS);
      return since(start);
    },
  };
}

interface Concurrent {
  ms: number[];
  errors: Map<string, number>;
  wallMs: number;
}

/** `clients` submitters at once, each sending `each` requests one after another. */
async function concurrent(system: Target, clients: number, each: number): Promise<Concurrent> {
  const ms: number[] = [];
  const errors = new Map<string, number>();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < each; i++) {
        try {
          ms.push(await system.submit());
        } catch (error) {
          const reason = error instanceof Error ? error.message.replace(/^POST \S+ /, "") : String(error);
          errors.set(reason, (errors.get(reason) ?? 0) + 1);
        }
      }
    }),
  );
  return { ms, errors, wallMs: since(start) };
}

/** Waits until the submit client has no job left waiting or running, so that the next phase starts quiet. */
async function quiesce(base: URL, auth: ClientHeaders, timeoutMs = 120_000): Promise<void> {
  const start = performance.now();
  for (;;) {
    let busy = 0;
    for (const state of ["queued", "started", "pending"]) {
      const { text } = await getText(new URL(`/jobs?state=${state}&limit=100`, base).href, auth, TIMEOUT_MS);
      busy += (JSON.parse(text) as unknown[]).length;
    }
    if (busy === 0) return;
    if (since(start) > timeoutMs) {
      note(`engine still has ${busy}+ submitted jobs waiting or running after ${timeoutMs / 1000} s; going on`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// ─── listing ────────────────────────────────────────────────────────────────────────────────────────────

interface Filter {
  label: string;
  /** GET /jobs query string (without limit, which is added), or a path+query from a Link header. */
  query: string;
  /** The same filter as the engine's route hands it to listJobs. */
  filter: JobFilter;
}

/** The engine's SQL and parameters for one filter, as listJobs runs them. */
async function engineSql(client: string, filter: JobFilter): Promise<{ sql: string; params: (string | number)[] }> {
  const { sql, params } = listJobsQuery(client, filter);
  return { sql, params: params as (string | number)[] };
}

/** A cursor as the engine encodes it (src/api/routes/list-jobs.ts), here for a row in the middle of the jobs. */
function cursorFor(orderBy: string, ascending: boolean, value: string | number, id: string): string {
  return btoa(JSON.stringify([orderBy, ascending ? 1 : 0, value, id])).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

function filters(seeded: Seeded): Filter[] {
  const base = { limit: LIMIT, orderBy: "created_at" as const, ascending: false };
  const dayFrom = new Date(seedEnd - 10 * DAY).toISOString();
  const dayTo = new Date(seedEnd - 9 * DAY).toISOString();
  const ids = seeded.sampleIds.slice(0, 20);
  return [
    { label: "no filter", query: "", filter: { ...base } },
    { label: "state=completed", query: "state=completed", filter: { ...base, queueState: "completed" } },
    { label: "state=queued", query: "state=queued", filter: { ...base, queueState: "queued" } },
    { label: "state=paused (1 % of the jobs)", query: "state=paused", filter: { ...base, queueState: "paused" } },
    { label: "state=2&failed=1", query: "state=2&failed=1", filter: { ...base, queueState: "completed", failed: true } },
    { label: "failed=1", query: "failed=1", filter: { ...base, failed: true } },
    { label: "workflow=drmswitch", query: "workflow=drmswitch", filter: { ...base, workflow: "drmswitch" } },
    { label: "workflow=voddelete&state=completed", query: "workflow=voddelete&state=completed", filter: { ...base, workflow: "voddelete", queueState: "completed" } },
    { label: "state=paused&workflow=drmswitch", query: "state=paused&workflow=drmswitch", filter: { ...base, queueState: "paused", workflow: "drmswitch" } },
    { label: "search=vod-0123 (content_id prefix)", query: "search=vod-0123", filter: { ...base, search: "vod-0123" } },
    { label: "from/to (one day)", query: `from=${dayFrom}&to=${dayTo}`, filter: { ...base, from: dayFrom, to: dayTo } },
    { label: "from/to (one day)&state=completed", query: `from=${dayFrom}&to=${dayTo}&state=completed`, filter: { ...base, from: dayFrom, to: dayTo, queueState: "completed" } },
    { label: "persist=1", query: "persist=1", filter: { ...base, persist: true } },
    { label: `job_ids (${ids.length} ids)`, query: `job_ids=${ids.join(",")}`, filter: { ...base, jobIds: ids } },
    { label: "order_by=updated_at", query: "order_by=updated_at", filter: { ...base, orderBy: "updated_at" } },
    { label: "order_by=priority&asc=1", query: "order_by=priority&asc=1", filter: { ...base, orderBy: "priority", ascending: true } },
    { label: "state=completed&order_by=priority", query: "state=completed&order_by=priority", filter: { ...base, queueState: "completed", orderBy: "priority" } },
    {
      label: "cursor: row 50% (no filter)",
      query: `cursor=${cursorFor("created_at", false, seeded.middle.created_at, seeded.middle.id)}`,
      filter: { ...base, after: { value: seeded.middle.created_at, id: seeded.middle.id } },
    },
    {
      // 80 % of the seeded jobs have the default priority 5: a page inside that group.
      label: "cursor: order_by=priority, inside priority 5",
      query: `cursor=${cursorFor("priority", true, 5, seeded.middle.id)}`,
      filter: { ...base, orderBy: "priority", ascending: true, after: { value: 5, id: seeded.middle.id } },
    },
  ];
}

interface Timing {
  filter: Filter;
  engine: number[];
  /** The engine's exact SQL, run by the bare worker. */
  sameSql: number[];
  /** The baseline: the bare worker's simplest indexed listing query. */
  baseline: number[];
  rows: number;
  /** Whether the engine's page and the bare worker's rows (same SQL) hold the same jobs. */
  sameRows: boolean;
  plan: string[];
  errors: string[];
}

async function timeFilter(filter: Filter, engineBase: URL, auth: ClientHeaders, bareBase: URL): Promise<Timing> {
  const { sql, params } = await engineSql(LIST_CLIENT, filter.filter);
  const query = /(^|&)limit=/.test(filter.query) ? filter.query : [filter.query, `limit=${LIMIT}`].filter(Boolean).join("&");
  const engineUrl = new URL(`/jobs?${query}`, engineBase).href;
  const sqlUrl = new URL("/sql", bareBase).href;
  const baselineUrl = new URL(`/jobs?client=${LIST_CLIENT}&limit=${LIMIT + 1}`, bareBase).href;
  const timing: Timing = { filter, engine: [], sameSql: [], baseline: [], rows: 0, sameRows: false, plan: [], errors: [] };
  const planRows = (await postJson(sqlUrl, { sql: `EXPLAIN QUERY PLAN ${sql}`, params }, {}, TIMEOUT_MS)) as unknown as { detail: string }[];
  timing.plan = planRows.map((row) => row.detail);
  let enginePage: { id: string }[] = [];
  let barePage: JobRow[] = [];
  const measure = async (into: number[], step: () => Promise<void>): Promise<void> => {
    const start = performance.now();
    try {
      await step();
      into.push(since(start));
    } catch (error) {
      timing.errors.push(error instanceof Error ? error.message : String(error));
    }
  };
  // Warm-up, then the three kinds of request interleaved so that machine noise hits all three alike.
  for (let i = -3; i < LIST_REQUESTS; i++) {
    const sink: number[] = [];
    await measure(i < 0 ? sink : timing.engine, async () => {
      enginePage = JSON.parse((await getText(engineUrl, auth, TIMEOUT_MS)).text) as { id: string }[];
    });
    await measure(i < 0 ? sink : timing.sameSql, async () => {
      barePage = (await postJson(sqlUrl, { sql, params }, {}, TIMEOUT_MS)) as unknown as JobRow[];
    });
    await measure(i < 0 ? sink : timing.baseline, async () => {
      JSON.parse((await getText(baselineUrl, {}, TIMEOUT_MS)).text);
    });
  }
  timing.rows = enginePage.length;
  const engineIds = enginePage.map((job) => job.id).join(",");
  timing.sameRows = engineIds === barePage.slice(0, LIMIT).map((row) => row.id).join(",");
  return timing;
}

// ─── main ───────────────────────────────────────────────────────────────────────────────────────────────

run("api", async (scope) => {
  const enginePersist = join(scope.dir, "engine");
  const barePersist = join(scope.dir, "baseline");
  migrate(enginePersist);
  note(`seeding ${SEED_JOBS} + ${OTHER_JOBS} jobs into the engine's local D1 file`);
  const seeded = await seed(enginePersist);
  // The bare worker reads a copy of the seeded database: two workerd processes never share one SQLite file.
  cpSync(join(enginePersist, "v3", "d1"), join(barePersist, "v3", "d1"), { recursive: true });

  const t = performance.now();
  const { worker: engineWorker, base: engineBase } = await startEngine(enginePersist, ADMIN_TOKEN);
  scope.workers.push(engineWorker);
  note("starting the bare baseline worker");
  const bare = await startWorker(join(root, "bench", "api-baseline", "wrangler.toml"), barePersist);
  scope.workers.push(bare);
  const bareBase = await bare.url;
  await postJson(new URL("/setup", bareBase).href, {});
  note("creating the clients");
  const listAuth = await createClient(engineBase, ADMIN_TOKEN, LIST_CLIENT, liftedGuards(1000), TIMEOUT_MS);
  const submitAuth = await createClient(engineBase, ADMIN_TOKEN, SUBMIT_CLIENT, liftedGuards(1000), TIMEOUT_MS);
  console.log(
    `started engine ${engineBase} and bare worker ${bareBase} in ${(since(t) / 1000).toFixed(1)} s; seeded ${SEED_JOBS} + ${OTHER_JOBS} jobs ` +
      `in ${(seeded.ms / 1000).toFixed(1)} s; node ${process.version}, ${cpus().length} cores, load ${load()}`,
  );

  // ── POST /job ──
  const engine = target("engine", new URL("/job", engineBase).href, submitAuth);
  const baseline = target("baseline", new URL("/job", bareBase).href, {});
  note("warming up POST /job");
  for (const system of [engine, baseline]) {
    for (let i = 0; i < 10; i++) await system.submit();
    await concurrent(system, CONCURRENCY, 1);
  }
  await quiesce(engineBase, submitAuth);

  note(`POST /job, 1 client: ${SUBMITS} submits each, alternating`);
  const single = { engine: [] as number[], baseline: [] as number[] };
  for (let i = 0; i < SUBMITS; i++) {
    single.engine.push(await engine.submit());
    single.baseline.push(await baseline.submit());
  }
  await quiesce(engineBase, submitAuth);
  note(`POST /job, ${CONCURRENCY} clients × ${PER_CLIENT} submits: baseline, then engine`);
  const manyBaseline = await concurrent(baseline, CONCURRENCY, PER_CLIENT);
  const manyEngine = await concurrent(engine, CONCURRENCY, PER_CLIENT);
  note("waiting for the submitted jobs to finish");
  const quiet = performance.now();
  await quiesce(engineBase, submitAuth);
  const drainMs = since(quiet);

  // ── GET /jobs ──
  const list: Timing[] = [];
  for (const filter of filters(seeded)) {
    note(`GET /jobs ${filter.label}`);
    list.push(await timeFilter(filter, engineBase, listAuth, bareBase));
  }
  // The next page of a filtered listing, through the Link header the engine gives out.
  const first = await getText(new URL(`/jobs?state=completed&limit=${LIMIT}`, engineBase).href, listAuth, TIMEOUT_MS);
  const link = /<([^>]+)>;\s*rel="next"/.exec(first.headers.get("link") ?? "")?.[1];
  if (link) {
    const last = (JSON.parse(first.text) as { id: string; created_at: string }[]).at(-1)!;
    const next: Filter = {
      label: "state=completed, page 2 (Link cursor)",
      query: link.replace(/^\/jobs\?/, ""),
      filter: { limit: LIMIT, orderBy: "created_at", ascending: false, queueState: "completed", after: { value: last.created_at, id: last.id } },
    };
    note(`GET /jobs ${next.label}`);
    list.push(await timeFilter(next, engineBase, listAuth, bareBase));
  } else {
    scope.fail();
    console.log("GET /jobs?state=completed gave no Link header: cannot time the next page");
  }

  // ── figures ──
  console.log(`\nload at the end: ${load()}\n`);
  console.log(`POST /job (selftest, 1 task of 0 ms, no callbacks); baseline: bare worker, parse + one D1 INSERT`);
  console.log(pairLine("POST /job p50, 1 client", median(single.engine), median(single.baseline), "ms"));
  console.log(pairLine("POST /job p99, 1 client", percentile(single.engine, 99), percentile(single.baseline, 99), "ms"));
  const manyOk = manyEngine.ms.length > 0 && manyBaseline.ms.length > 0;
  if (manyOk) {
    console.log(pairLine(`POST /job p50, ${CONCURRENCY} clients`, median(manyEngine.ms), median(manyBaseline.ms), "ms"));
    console.log(pairLine(`POST /job p99, ${CONCURRENCY} clients`, percentile(manyEngine.ms, 99), percentile(manyBaseline.ms, 99), "ms"));
    const rate = (result: Concurrent): number => result.ms.length / (result.wallMs / 1000);
    console.log(pairLine(`  submits/s, ${CONCURRENCY} clients`, rate(manyEngine), rate(manyBaseline), "/s"));
  }
  for (const [name, result] of [["engine", manyEngine], ["baseline", manyBaseline]] as const) {
    if (result.errors.size === 0) continue;
    scope.fail();
    console.log(`${name}: ${[...result.errors.values()].reduce((a, b) => a + b, 0)} of ${CONCURRENCY * PER_CLIENT} concurrent submits failed`);
    for (const [reason, count] of result.errors) console.log(`  ${count} × ${reason}`);
  }
  console.log(`  (engine: the ${CONCURRENCY * PER_CLIENT} jobs were all done ${(drainMs / 1000).toFixed(1)} s after the last submit answered)`);

  console.log(
    `\nGET /jobs on ${SEED_JOBS} seeded jobs of client ${LIST_CLIENT} (+ ${OTHER_JOBS} of ${OTHER_CLIENT}), limit ${LIMIT}, ` +
      `${LIST_REQUESTS} sequential requests per filter; baseline: bare worker, ` +
      `SELECT * FROM jobs WHERE client = ? ORDER BY created_at DESC, id DESC LIMIT ${LIMIT + 1}; ` +
      `"same SQL": the engine's statement for that filter, run by the bare worker`,
  );
  for (const timing of list) {
    if (timing.engine.length === 0 || timing.baseline.length === 0) {
      scope.fail();
      console.log(`GET /jobs ${timing.filter.label}: FAILED (${timing.errors[0] ?? "no answer"})`);
      continue;
    }
    const label = `GET /jobs ${timing.filter.label}`;
    console.log(
      `${pairLine(`${label} p50`, median(timing.engine), median(timing.baseline), "ms", "baseline", 58)}` +
        ` | p99 ${f(percentile(timing.engine, 99))} / ${f(percentile(timing.baseline, 99))} ms` +
        ` | same SQL p50 ${f(median(timing.sameSql))} ms | ${timing.rows} rows${timing.sameRows ? "" : " (MISMATCH with the same SQL)"}`,
    );
    if (timing.errors.length > 0) {
      scope.fail();
      console.log(`  ${timing.errors.length} requests failed, e.g. ${timing.errors[0]}`);
    }
  }
  console.log(`\nquery plans (EXPLAIN QUERY PLAN of the engine's statement, run in a copy of the engine's local D1):`);
  let partial = 0;
  for (const timing of list) {
    const unsearched = unsearchedColumns(timing.filter.filter, timing.plan);
    const noIndex = timing.plan.some((line) => /^SCAN jobs\b/.test(line) && !/INDEX/.test(line));
    if (noIndex || unsearched.length > 0) partial++;
    const flag = noIndex ? "   ← NO INDEX: full table scan" : unsearched.length > 0 ? `   ← not in the index search, checked row by row: ${unsearched.join(", ")}` : "";
    console.log(`  ${timing.filter.label.padEnd(46)} ${timing.plan.join("; ")}${flag}`);
  }
  console.log(
    partial === 0
      ? "every filter is searched through an index"
      : `${partial} of ${list.length} filters use an index on client (and maybe another column) but check some of their conditions row by row`,
  );
});

/**
 * The filter's columns that the plan's index search does not constrain (they are checked on each row the index
 * yields): e.g. `queue_state` when the planner walks jobs_client_created to avoid a sort.
 */
function unsearchedColumns(filter: JobFilter, plan: string[]): string[] {
  const searched = new Set<string>();
  for (const line of plan) {
    const constraint = /USING (?:COVERING )?INDEX \S+ \(([^)]*)\)/.exec(line)?.[1] ?? /USING INTEGER PRIMARY KEY \(([^)]*)\)/.exec(line)?.[1];
    for (const term of constraint?.split(" AND ") ?? []) searched.add(term.replace(/[=<>?].*$/, "").trim());
  }
  const wanted: string[] = [];
  if (filter.queueState !== undefined) wanted.push("queue_state");
  if (filter.failed !== undefined) wanted.push("failed");
  if (filter.from !== undefined || filter.to !== undefined) wanted.push("created_at");
  if (filter.search !== undefined) wanted.push("content_id");
  if (filter.jobIds !== undefined) wanted.push("id");
  if (filter.workflow !== undefined) wanted.push("workflow");
  if (filter.persist !== undefined) wanted.push("persist");
  if (filter.after !== undefined) wanted.push(`${filter.orderBy} (cursor)`);
  return wanted.filter((column) => !searched.has(column.replace(" (cursor)", "")));
}

function f(value: number): string {
  return value.toFixed(1);
}
