// End-to-end benchmark: the engine's 5-task `selftest` chain against the same contract on Cloudflare Workflows
// (the fair baseline: a step per task POSTing signed start / complete callbacks, then a step POSTing the
// signed job callback, 11 POSTs like the engine) and against the bare 5-step no-op Workflow (a second line),
// all started here in the same local runtime (wrangler's unstable_startWorker → workerd). Side by side, from
// one run: latency (submit → job callback received), throughput (a burst submitted at once), every callback
// counted and its signature checked, CPU per job of each side's workerd (/proc), and the engine's billable
// operations per job (its `job cost` log lines) in dollars per million jobs beside the Workflow's.
//
//   npm run bench                      (node --experimental-strip-types bench/e2e-latency.ts)
//
// Knobs (environment): BENCH_RUNS (whole measurements, each on fresh workers and state, then the medians;
// default 1), BENCH_JOBS (sequential jobs per side, default 50), BENCH_BURST (jobs submitted at once, default
// 200), BENCH_TASKS (tasks / steps per job, default 5), BENCH_WARMUP (sequential warm-up jobs, default 5),
// BENCH_GAP_MS (pause before each sequential job, default 20), BENCH_TIMEOUT_MS (per sequential job, default
// 30000), BENCH_BURST_TIMEOUT_MS (a whole burst, default 120000: a burst that has not completed by then is
// reported as failed, with how far it got), BENCH_MAX_JOBS (the bench client's max_jobs setting, default 1000
// so that a whole burst may run at once).
import { createHmac, randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type CostLedger, dollars, EMPTY_LEDGER, PRICES, queueOperations } from "../src/domain/cost.ts";
import { CPU_RESOLUTION_MS, cpuMs, settle, startedProcesses, workerdChildren, type WorkerProcesses } from "./lib/cpu.ts";
import {
  createSigningClient,
  f1,
  f2,
  getText,
  intEnv,
  liftedGuards,
  listen,
  load,
  median,
  migrate,
  note,
  percentile,
  postJson,
  root,
  run,
  startEngine,
  startWorker,
  type Scope,
  type Worker,
  type WorkerLog,
} from "./lib/harness.ts";

const RUNS = intEnv("BENCH_RUNS", 1);
const JOBS = intEnv("BENCH_JOBS", 50);
const BURST = intEnv("BENCH_BURST", 200);
const TASKS = intEnv("BENCH_TASKS", 5);
const WARMUP = intEnv("BENCH_WARMUP", 5);
const TIMEOUT_MS = intEnv("BENCH_TIMEOUT_MS", 30_000);
const BURST_TIMEOUT_MS = intEnv("BENCH_BURST_TIMEOUT_MS", 120_000);
const MAX_JOBS = intEnv("BENCH_MAX_JOBS", 1000);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 20);
if (!Number.isFinite(GAP_MS) || GAP_MS < 0) throw new Error("BENCH_GAP_MS must be a number ≥ 0");
const ADMIN_TOKEN = `adm_bench_${randomBytes(16).toString("hex")}`;
/** Signs the fair Workflow's callbacks (a binding of the baseline worker). */
const FAIR_SECRET = `whsec_${randomBytes(32).toString("base64")}`;
/** Callbacks per job: a start and a complete per task, and the job callback. */
const CALLBACKS = 2 * TASKS + 1;

type Side = "engine" | "fair" | "noop";
const SIDES: readonly Side[] = ["engine", "fair", "noop"];
const LABEL: Record<Side, string> = { engine: "engine", fair: "fair wf", noop: "no-op wf" };

// ─── the receiver: /engine, /fair and /noop ─────────────────────────────────────────────────────────────

interface Arrival {
  /** performance.now() when the completion notice arrived. */
  at: number;
  /** Date.now() at that moment, to compare with the engine's notice times. */
  wall: number;
  body: Record<string, unknown>;
}

/** What one side's path received in this run. */
interface Received {
  posts: number;
  /** Distinct `sequence`s received, per job. */
  sequences: Map<string, Set<number>>;
  webhookIds: Set<string>;
  /** A webhook-id received again (a retried callback: receivers dedupe on it). */
  duplicates: number;
  /** Signed callbacks whose signature does not verify with the side's secret, or that are not signed. */
  badSignatures: number;
}

const fresh = (): Received => ({ posts: 0, sequences: new Map(), webhookIds: new Set(), duplicates: 0, badSignatures: 0 });
let received: Record<Side, Received> = { engine: fresh(), fair: fresh(), noop: fresh() };
/** The signing secret of each signed side (the engine's is its client's, new each run). */
const secrets: Partial<Record<Side, string>> = { fair: FAIR_SECRET };

/** Every callback of one job, in arrival order, with the wall time each arrived (engine breakdown). */
const trail = new Map<string, { wall: number; body: Record<string, unknown> }[]>();
const done = new Map<string, Arrival>();
const waiters = new Map<string, (arrival: Arrival) => void>();
let keepTrail = false;

function signatureOk(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const [id, timestamp, signatures] = [headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") return false;
  const expected = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64")).update(`${id}.${timestamp}.${body}`).digest("base64");
  return signatures.split(" ").includes(`v1,${expected}`);
}

function onHook(request: IncomingMessage, response: ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const at = performance.now();
    const wall = Date.now();
    response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    const side = SIDES.find((name) => request.url === `/${name}`);
    if (!side) return;
    const text = Buffer.concat(chunks).toString("utf8");
    const log = received[side];
    log.posts++;
    const secret = secrets[side];
    if (secret !== undefined && !signatureOk(secret, request.headers, text)) log.badSignatures++;
    const webhookId = request.headers["webhook-id"];
    if (typeof webhookId === "string") {
      if (log.webhookIds.has(webhookId)) log.duplicates++;
      log.webhookIds.add(webhookId);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const id = typeof body.job_id === "string" ? body.job_id : null;
    if (!id) return;
    if (typeof body.sequence === "number") {
      const seen = log.sequences.get(id) ?? new Set<number>();
      seen.add(body.sequence);
      log.sequences.set(id, seen);
    }
    if (keepTrail && side === "engine") {
      const list = trail.get(id) ?? [];
      list.push({ wall, body });
      trail.set(id, list);
    }
    // The job-end callback: a `status`, no `task_id` (callbacks.md). Both baselines send the same shape.
    if (typeof body.status !== "string" || "task_id" in body || done.has(id)) return;
    const arrival = { at, wall, body };
    done.set(id, arrival);
    waiters.get(id)?.(arrival);
    waiters.delete(id);
  });
}

function completion(id: string, timeoutMs: number): Promise<Arrival> {
  const arrived = done.get(id);
  if (arrived) return Promise.resolve(arrived);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.delete(id);
      reject(new Error(`no completion notice for ${id} within ${timeoutMs} ms`));
    }, timeoutMs);
    waiters.set(id, (arrival) => {
      clearTimeout(timer);
      resolve(arrival);
    });
  });
}

// ─── the engine's `job cost` lines ──────────────────────────────────────────────────────────────────────

/** The last `job cost` ledger each job logged, this run. */
const costs = new Map<string, CostLedger>();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads `{"level":"info","message":"job cost","job_id":…,"cost":{…}}` from the engine's console. */
function onEngineLog(log: WorkerLog): void {
  if (!log.message.includes('"job cost"')) return;
  let line: unknown;
  try {
    line = JSON.parse(log.message.slice(log.message.indexOf("{")));
  } catch {
    return;
  }
  if (!isRecord(line) || line.message !== "job cost" || typeof line.job_id !== "string" || !isRecord(line.cost)) return;
  const ledger: CostLedger = { ...EMPTY_LEDGER };
  for (const key of Object.keys(EMPTY_LEDGER) as (keyof CostLedger)[]) {
    const value = line.cost[key];
    if (typeof value === "number" && Number.isFinite(value)) ledger[key] = value;
  }
  costs.set(line.job_id, ledger);
}

// ─── the three systems under test ───────────────────────────────────────────────────────────────────────

interface System {
  side: Side;
  /** The workerd processes of its worker (the two baselines share one worker). */
  processes: WorkerProcesses;
  /** Submits one job; resolves with its id once the submit request has answered. */
  submit(timeoutMs?: number): Promise<string>;
}

async function engineSystem(persist: string, hook: string, workers: Worker[]): Promise<System> {
  migrate(persist);
  const before = workerdChildren();
  const { worker, base } = await startEngine(persist, ADMIN_TOKEN, onEngineLog);
  workers.push(worker);
  note(`engine at ${base.href}; creating the bench client`);
  // Lift the client's limits so the bench measures the engine, not its guards.
  const { auth, signingSecret } = await createSigningClient(base, ADMIN_TOKEN, "bench", liftedGuards(MAX_JOBS), TIMEOUT_MS);
  secrets.engine = signingSecret;
  const processes = await startedProcesses(before, base.port);
  note(`engine: workerd runtime pid ${processes.runtime ?? "not found"}, dev proxy pid ${processes.proxy ?? "not found"}`);
  const jobUrl = new URL("/job", base).href;
  let n = 0;
  return {
    side: "engine",
    processes,
    async submit(timeoutMs = TIMEOUT_MS) {
      const body = {
        job: { workflow: "selftest" },
        parameters: { content_id: `bench-${++n}`, tasks: TASKS, shape: "chain", task_ms: 0, rest_endpoints: [hook] },
      };
      const reply = await postJson(jobUrl, body, auth, timeoutMs);
      return String(reply.id);
    },
  };
}

async function workflowSystems(persist: string, hooks: string, workers: Worker[]): Promise<{ fair: System; noop: System }> {
  note("starting the Workflows baselines");
  const before = workerdChildren();
  const worker = await startWorker(join(root, "bench", "workflows-baseline", "wrangler.toml"), persist, { SIGNING_SECRET: FAIR_SECRET });
  workers.push(worker);
  const url = await worker.url;
  await getText(url.href, {}, TIMEOUT_MS);
  const processes = await startedProcesses(before, url.port);
  note(`workflows at ${url.href} (workerd runtime pid ${processes.runtime ?? "?"}, dev proxy pid ${processes.proxy ?? "?"})`);
  const fairUrl = new URL("/fair", url).href;
  const runUrl = new URL("/run", url).href;
  let n = 0;
  return {
    fair: {
      side: "fair",
      processes,
      async submit(timeoutMs = TIMEOUT_MS) {
        const body = { callback: `${hooks}/fair`, tasks: TASKS, content_id: `bench-${++n}`, client: "bench", workflow: "selftest", custom_data: null };
        return String((await postJson(fairUrl, body, {}, timeoutMs)).id);
      },
    },
    noop: {
      side: "noop",
      processes,
      async submit(timeoutMs = TIMEOUT_MS) {
        return String((await postJson(runUrl, { callback: `${hooks}/noop`, steps: TASKS }, {}, timeoutMs)).id);
      },
    },
  };
}

// ─── measurements ───────────────────────────────────────────────────────────────────────────────────────

interface Single {
  ms: number;
  submitMs: number;
  id: string;
  submittedWall: number;
}

async function single(system: System): Promise<Single> {
  const t0 = performance.now();
  const submittedWall = Date.now();
  const id = await system.submit();
  const submitMs = performance.now() - t0;
  const arrival = await completion(id, TIMEOUT_MS);
  return { ms: arrival.at - t0, submitMs, id, submittedWall };
}

interface Burst {
  /** Every job submitted and its completion notice received within BURST_TIMEOUT_MS. */
  ok: boolean;
  count: number;
  ids: string[];
  completed: number;
  /** Submit of the first job → the last completion notice (or the deadline, when not ok). */
  ms: number;
  /** Until every submit request had answered (or failed). */
  submitMs: number;
  /** Submit → completion notice, for the jobs that completed. */
  perJob: number[];
  errors: Map<string, number>;
  /** User + system CPU of the side's workerd runtime / dev proxy from before the burst until it went quiet after it, ms. */
  runtimeCpuMs: number | null;
  proxyCpuMs: number | null;
}

function cpuOf(processes: WorkerProcesses): { runtime: number | null; proxy: number | null } {
  return { runtime: processes.runtime === null ? null : cpuMs(processes.runtime), proxy: processes.proxy === null ? null : cpuMs(processes.proxy) };
}

const minus = (after: number | null, before: number | null): number | null => (after === null || before === null ? null : after - before);

/**
 * Submits `count` jobs at once, then waits (until one deadline) for their completion notices; the CPU of the
 * side's processes is read before the burst and once the runtime has gone quiet after it.
 */
async function burst(system: System, count: number, quiet: number[]): Promise<Burst> {
  await Promise.all(quiet.map((pid) => settle(pid)));
  const cpuBefore = cpuOf(system.processes);
  const t0 = performance.now();
  const deadline = t0 + BURST_TIMEOUT_MS;
  const submits = await Promise.allSettled(Array.from({ length: count }, () => system.submit(BURST_TIMEOUT_MS)));
  const submitMs = performance.now() - t0;
  const errors = new Map<string, number>();
  const ids: string[] = [];
  for (const submit of submits) {
    if (submit.status === "fulfilled") ids.push(submit.value);
    else {
      const reason = submit.reason instanceof Error ? submit.reason.message.replace(/^POST \S+ /, "submit ") : String(submit.reason);
      errors.set(reason, (errors.get(reason) ?? 0) + 1);
    }
  }
  const arrivals = await Promise.allSettled(ids.map((id) => completion(id, Math.max(1, deadline - performance.now()))));
  const finished = arrivals.flatMap((arrival) => (arrival.status === "fulfilled" ? [arrival.value.at - t0] : []));
  const ok = finished.length === count;
  const ms = ok ? Math.max(...finished) : Math.max(performance.now(), deadline) - t0;
  if (system.processes.runtime !== null) await settle(system.processes.runtime);
  const cpuAfter = cpuOf(system.processes);
  return {
    ok,
    count,
    ids,
    completed: finished.length,
    ms,
    submitMs,
    perJob: finished,
    errors,
    runtimeCpuMs: minus(cpuAfter.runtime, cpuBefore.runtime),
    proxyCpuMs: minus(cpuAfter.proxy, cpuBefore.proxy),
  };
}

// ─── output ─────────────────────────────────────────────────────────────────────────────────────────────

/** One figure of one run, for the medians over BENCH_RUNS runs. */
interface Figure {
  label: string;
  value: number | null;
}

const fmt = (value: number | null, unit: string): string => (value === null ? `    n/a ${unit}` : `${f1(value)} ${unit}`);
const ratioOf = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);
const fmtRatio = (value: number | null): string => (value === null ? "n/a" : f2(value));

/**
 * `label  engine X unit  fair wf Y unit  no-op wf Z unit  engine/fair X/Y (target)  engine/no-op X/Z`; records
 * the figures for the medians.
 */
function row(figures: Figure[], label: string, unit: string, values: Record<Side, number | null>, target = ""): void {
  const fair = ratioOf(values.engine, values.fair);
  const noop = ratioOf(values.engine, values.noop);
  console.log(
    `${label.padEnd(30)} ${SIDES.map((side) => `${LABEL[side]} ${fmt(values[side], unit)}`).join("  ")}  ` +
      `engine/fair ${fmtRatio(fair)}${target ? ` (target ${target})` : ""}  engine/no-op ${fmtRatio(noop)}`,
  );
  for (const side of SIDES) figures.push({ label: `${label}, ${LABEL[side]} (${unit})`, value: values[side] });
  figures.push({ label: `${label}, engine / fair wf`, value: fair }, { label: `${label}, engine / no-op wf`, value: noop });
}

/**
 * Where a sequential engine job spends its time, from the callbacks' own `time` fields (set by the
 * coordinator when it records each event) and their arrival times at the receiver (same machine clock).
 */
function engineBreakdown(runs: Single[]): void {
  const parts: Record<string, number[]> = {
    "submit → 202": [],
    "submit → task_1 start": [],
    "task start → complete": [],
    "complete → next start": [],
    "last complete → job end": [],
    "event → callback arrival": [],
    "job end event → arrival": [],
    "submit → job end event": [],
  };
  for (const run of runs) {
    const list = trail.get(run.id);
    if (!list) continue;
    parts["submit → 202"]!.push(run.submitMs);
    const time = (entry: { body: Record<string, unknown> }): number => Date.parse(String(entry.body.time));
    const tasks = list.filter((entry) => "task_id" in entry.body).sort((a, b) => Number(a.body.sequence) - Number(b.body.sequence));
    const end = list.find((entry) => !("task_id" in entry.body));
    for (const entry of list) parts["event → callback arrival"]!.push(entry.wall - time(entry));
    const first = tasks.find((entry) => entry.body.event === "start");
    if (first) parts["submit → task_1 start"]!.push(time(first) - run.submittedWall);
    for (let i = 0; i < tasks.length - 1; i++) {
      const a = tasks[i]!;
      const b = tasks[i + 1]!;
      const gap = time(b) - time(a);
      if (a.body.event === "start" && b.body.event === "complete") parts["task start → complete"]!.push(gap);
      if (a.body.event === "complete" && b.body.event === "start") parts["complete → next start"]!.push(gap);
    }
    const lastComplete = tasks.filter((entry) => entry.body.event === "complete").at(-1);
    if (end && lastComplete) parts["last complete → job end"]!.push(time(end) - time(lastComplete));
    if (end) {
      parts["job end event → arrival"]!.push(end.wall - time(end));
      parts["submit → job end event"]!.push(time(end) - run.submittedWall);
    }
  }
  console.log(`engine breakdown (sequential jobs, medians; event times are the coordinator's clock, ms resolution):`);
  for (const [label, values] of Object.entries(parts)) {
    if (values.length > 0) console.log(`  ${label.padEnd(28)} ${f1(median(values))} ms   (p90 ${percentile(values, 90).toFixed(1)}, n ${values.length})`);
  }
}

/** Callbacks of the measured jobs of a signed side: received / expected, jobs with every one, duplicates, bad signatures. */
function callbackLine(side: "engine" | "fair", ids: string[]): boolean {
  const log = received[side];
  let got = 0;
  let whole = 0;
  for (const id of ids) {
    const seen = log.sequences.get(id)?.size ?? 0;
    got += seen;
    if (seen === CALLBACKS) whole++;
  }
  console.log(
    `  ${LABEL[side].padEnd(8)} ${got} / ${ids.length * CALLBACKS} callbacks (${CALLBACKS} per job; ${whole} / ${ids.length} jobs with every one); ` +
      `${log.posts} POSTs this run incl. warm-up, ${log.duplicates} with a webhook-id seen before, ${log.badSignatures} bad or missing signatures`,
  );
  return whole === ids.length && log.badSignatures === 0;
}

const BUDGETS: { key: keyof CostLedger; label: string; unit: string; budget: number | null }[] = [
  { key: "doRequests", label: "DO requests", unit: "requests/job", budget: 20 },
  { key: "doRowsWritten", label: "DO SQLite rows written", unit: "rows/job", budget: 45 },
  { key: "d1RowsWritten", label: "D1 rows written", unit: "rows/job", budget: 12 },
  { key: "d1RowsRead", label: "D1 rows read", unit: "rows/job", budget: null },
  { key: "queueMessages", label: "queue messages", unit: "messages/job", budget: 4 },
  { key: "queueUnits", label: "queue 64 KB units", unit: "units/job", budget: null },
  { key: "workerInvocations", label: "Worker invocations", unit: "invocations/job", budget: null },
];

/** Dollars per million jobs of one ledger field at its price (queue messages are priced by their units). */
function fieldDollars(key: keyof CostLedger, value: number): string {
  if (key === "queueMessages") return "(priced by their 64 KB units)";
  const amount = dollars({ ...EMPTY_LEDGER, [key]: value }) * 1e6;
  return `$${amount.toFixed(amount > 0 && amount < 0.1 ? 4 : 2).padStart(7)} per million jobs`;
}

/** The cost table: the engine's ledger per job (mean over the measured jobs that logged one) against the Workflows'. */
function costTable(figures: Figure[], ids: string[], cpuPerJob: Record<Side, number | null>): void {
  const ledgers = ids.flatMap((id) => {
    const ledger = costs.get(id);
    return ledger ? [ledger] : [];
  });
  // The Workflows' bill at the spec's count: a step per task and one per callback (efficiency.md), plus the
  // Worker request that creates the instance. The fair Workflow as built runs a step per task and one for the
  // job callback (each sending its callbacks); both figures are printed.
  const specSteps = TASKS + CALLBACKS;
  const builtSteps = TASKS + 1;
  const workflowDollars = (steps: number): number => (steps * PRICES.workflowStep + PRICES.workerRequest) * 1e6;
  const fair = workflowDollars(specSteps);
  const cpuDollars = (ms: number | null): string => (ms === null ? "n/a" : `$${(ms * 0.02).toFixed(2)}`);
  console.log(`cost per job at list prices (src/domain/cost.ts):`);
  if (ledgers.length === 0) {
    console.log(`  cost: not reported by this engine build (no "job cost" log line for any of the ${ids.length} measured jobs)`);
  } else {
    const mean: CostLedger = { ...EMPTY_LEDGER };
    for (const key of Object.keys(mean) as (keyof CostLedger)[]) mean[key] = ledgers.reduce((sum, ledger) => sum + ledger[key], 0) / ledgers.length;
    console.log(`  engine, from its "job cost" lines (mean over ${ledgers.length} of ${ids.length} measured jobs):`);
    for (const { key, label, unit, budget } of BUDGETS) {
      const verdict = budget === null ? "" : `  budget ≤ ${budget}: ${mean[key] <= budget ? "ok" : "OVER"}`;
      console.log(`    ${label.padEnd(24)} ${f1(mean[key])} ${unit.padEnd(16)} ${fieldDollars(key, mean[key]).padEnd(29)}${verdict}`.trimEnd());
      figures.push({ label: `engine ${label} (${unit})`, value: mean[key] });
    }
    console.log(`    ${"queue operations".padEnd(24)} ${f1(queueOperations(mean))} ops/job          (3 per 64 KB unit: a write, a read and a delete; the units' price above)`);
    const total = dollars(mean) * 1e6;
    console.log(
      `  engine total              $${total.toFixed(2)} per million jobs  budget ≤ $40: ${total <= 40 ? "ok" : "OVER"}, stretch ≤ $25: ${total <= 25 ? "ok" : "not met"}`,
    );
    console.log(`  engine / fair Workflow    ${f2(total / fair)} (cost ratio)`);
    figures.push({ label: "engine cost ($ per million jobs)", value: total }, { label: "engine cost / fair wf cost", value: total / fair });
  }
  console.log(
    `  fair Workflow             $${fair.toFixed(2)} per million jobs: ${specSteps} steps (${TASKS} task steps + ${CALLBACKS} callback steps, ` +
      `the count of efficiency.md) × $${(PRICES.workflowStep * 1e6).toFixed(2)}/M + 1 Worker request × $${(PRICES.workerRequest * 1e6).toFixed(2)}/M; ` +
      `as built here (${builtSteps} steps, each sending its callbacks) $${workflowDollars(builtSteps).toFixed(2)}`,
  );
  console.log(`  no-op Workflow            $${workflowDollars(TASKS).toFixed(2)} per million jobs: ${TASKS} steps + 1 Worker request`);
  console.log(
    `  aside, not in the totals: Worker CPU at $0.02 per million ms, from the local CPU per job: ` +
      `engine ${cpuDollars(cpuPerJob.engine)}, fair wf ${cpuDollars(cpuPerJob.fair)} per million jobs`,
  );
}

// ─── one run ────────────────────────────────────────────────────────────────────────────────────────────

async function measure(scope: Scope, dir: string, hooks: string): Promise<Figure[]> {
  received = { engine: fresh(), fair: fresh(), noop: fresh() };
  for (const map of [trail, done, costs]) map.clear();
  const figures: Figure[] = [];
  const started = scope.workers.length;
  const t = performance.now();
  const engine = await engineSystem(join(dir, "engine"), `${hooks}/engine`, scope.workers);
  const { fair, noop } = await workflowSystems(join(dir, "workflows"), hooks, scope.workers);
  const systems = [engine, fair, noop];
  const runtimes = [engine.processes.runtime, fair.processes.runtime].filter((pid): pid is number => pid !== null);
  console.log(
    `started the engine and the Workflows baselines in ${((performance.now() - t) / 1000).toFixed(1)} s; ${JOBS} sequential jobs, ` +
      `bursts of ${BURST}, ${TASKS} tasks each, engine max_jobs ${MAX_JOBS}; node ${process.version}, ${cpus().length} cores, load ${load()}`,
  );

  note("warming up");
  // Warm-up: compile, open storage, start the consumers, fill connection pools.
  for (const system of systems) {
    for (let i = 0; i < WARMUP; i++) await single(system);
    const warm = await burst(system, Math.min(20, BURST), runtimes);
    if (!warm.ok) note(`${system.side} warm-up burst: only ${warm.completed}/${warm.count} done`);
  }

  // Single-job latency, alternating the three systems job by job so machine noise hits them alike.
  note(`measuring single-job latency (${JOBS} jobs each, alternating)`);
  keepTrail = true;
  const latency: Record<Side, Single[]> = { engine: [], fair: [], noop: [] };
  // A short pause between jobs lets the previous job's tail (a Workflow instance finishing, the engine
  // recording its last delivery) end before the next submit; the two Workflows share one runtime.
  for (let i = 0; i < JOBS; i++) {
    for (const system of systems) {
      await new Promise((resolve) => setTimeout(resolve, GAP_MS));
      latency[system.side].push(await single(system));
    }
  }
  keepTrail = false;

  // Throughput: BURST jobs submitted at once, until the last completion notice arrives. The baselines go
  // first, so that an engine burst that does not finish cannot slow theirs down. Each burst starts once both
  // runtimes are quiet, and its CPU is counted until its runtime is quiet again.
  note(`measuring throughput and CPU (${BURST} at once: no-op, fair, engine; deadline ${BURST_TIMEOUT_MS / 1000} s each)`);
  const bursts = {} as Record<Side, Burst>;
  for (const system of [noop, fair, engine]) bursts[system.side] = await burst(system, BURST, runtimes);

  // The engine logs a job's cost once its callbacks have settled: give the last ones a moment.
  const measured = { engine: [...latency.engine.map((r) => r.id), ...bursts.engine.ids], fair: [...latency.fair.map((r) => r.id), ...bursts.fair.ids] };
  if (costs.size > 0) {
    const until = performance.now() + 10_000;
    while (measured.engine.some((id) => !costs.has(id)) && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 250));
  }

  const ms = (runs: Single[]): number[] => runs.map((r) => r.ms);
  const each = (value: (side: Side) => number | null): Record<Side, number | null> => ({ engine: value("engine"), fair: value("fair"), noop: value("noop") });
  const rate = (result: Burst): number | null => (result.ok ? result.completed / (result.ms / 1000) : null);
  const perJob = (cpu: number | null, result: Burst): number | null => (cpu === null || !result.ok ? null : cpu / result.count);
  console.log(`\nload at the end: ${load()}\n`);
  row(figures, "latency p50", "ms", each((side) => median(ms(latency[side]))), "≤ 1.0");
  row(figures, "latency p99", "ms", each((side) => percentile(ms(latency[side]), 99)), "≤ 1.0");
  row(figures, `throughput (${BURST} at once)`, "jobs/s", each((side) => rate(bursts[side])), "≥ 1.5");
  const cpuPerJob = each((side) => perJob(bursts[side].runtimeCpuMs, bursts[side]));
  row(figures, "CPU per job, workerd runtime", "ms", cpuPerJob, "≤ 1.0");
  row(figures, "CPU per job, wrangler dev proxy", "ms", each((side) => perJob(bursts[side].proxyCpuMs, bursts[side])));
  console.log(
    `  (CPU: user + system time of each side's workerd from /proc/<pid>/stat, before its burst and once its runtime is quiet after it, ` +
      `÷ ${BURST} jobs; ${CPU_RESOLUTION_MS} ms ticks; both Workflows share one worker, measured in their own bursts; the dev proxy ` +
      `forwards each submit and is not part of a deployment)`,
  );
  console.log("");
  const failedBursts = SIDES.filter((side) => !bursts[side].ok);
  for (const side of failedBursts) {
    const result = bursts[side];
    scope.fail();
    console.log(
      `${LABEL[side]} burst did NOT finish within ${BURST_TIMEOUT_MS / 1000} s: ${result.ids.length}/${result.count} submits accepted, ` +
        `${result.completed}/${result.count} completion notices (${(result.ms / 1000).toFixed(0)} s)`,
    );
    for (const [reason, count] of result.errors) console.log(`  ${count} × ${reason}`);
  }
  console.log(`callbacks of the measured jobs (${JOBS} sequential + ${BURST} burst per side), signatures checked:`);
  const complete = [callbackLine("engine", measured.engine), callbackLine("fair", measured.fair)];
  if (complete.includes(false)) scope.fail();
  console.log("");
  costTable(figures, measured.engine, cpuPerJob);
  console.log("");
  row(figures, "submit p50 (sequential)", "ms", each((side) => median(latency[side].map((r) => r.submitMs))));
  row(figures, "burst: all submitted", "ms", each((side) => bursts[side].submitMs));
  const perJobMs = (pick: (values: number[]) => number) => each((side) => (bursts[side].perJob.length > 0 ? pick(bursts[side].perJob) : null));
  row(figures, "burst: first done", "ms", perJobMs((values) => Math.min(...values)));
  row(figures, "burst: median done", "ms", perJobMs(median));
  row(figures, "burst: all done", "ms", each((side) => bursts[side].ms));
  console.log("");
  engineBreakdown(latency.engine);

  // This run's workers and state go; the next run starts afresh.
  note("stopping this run's workers");
  const mine = scope.workers.splice(started);
  await Promise.race([Promise.allSettled(mine.map((worker) => worker.dispose())), new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
  rmSync(dir, { recursive: true, force: true });
  return figures;
}

/** The median; the mean of the two middle values for an even count. */
function trueMedian(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Each figure's value in every run and its median. */
function medians(runs: Figure[][]): void {
  console.log(`\n══ medians of ${runs.length} runs ══`);
  const labels = runs[0]!.map((figure) => figure.label);
  const width = Math.max(...labels.map((label) => label.length));
  for (const label of labels) {
    const values = runs.map((figures) => figures.find((figure) => figure.label === label)?.value ?? null);
    const known = values.filter((value): value is number => value !== null);
    const text = values.map((value) => (value === null ? "n/a" : value.toFixed(2))).join(" / ");
    console.log(`${label.padEnd(width)}  ${text}  → median ${known.length > 0 ? trueMedian(known).toFixed(2) : "n/a"}`);
  }
}

// bench/.state/run-<pid>, removed at the end (git-ignored).
run("run", async (scope) => {
  const { server, port } = await listen(onHook);
  scope.servers.push(server);
  const hooks = `http://127.0.0.1:${port}`;
  const runs: Figure[][] = [];
  for (let i = 1; i <= RUNS; i++) {
    if (RUNS > 1) console.log(`\n══ run ${i} of ${RUNS} ══`);
    note(`run ${i} of ${RUNS}`);
    runs.push(await measure(scope, join(scope.dir, `run-${i}`), hooks));
  }
  if (RUNS > 1) medians(runs);
});
