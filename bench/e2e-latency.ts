// End-to-end benchmark: the engine's 5-task `selftest` chain against a 5-step no-op Cloudflare Workflow,
// both started here in the same local runtime (wrangler's unstable_startWorker → workerd), both measured
// from the moment the job / instance is submitted over HTTP to the moment its completion notice reaches a
// local HTTP receiver.
//
//   npm run bench                      (node --experimental-strip-types bench/e2e-latency.ts)
//
// Knobs (environment): BENCH_JOBS (sequential jobs per side, default 50), BENCH_BURST (jobs submitted at
// once, default 200), BENCH_TASKS (tasks / steps per job, default 5), BENCH_WARMUP (sequential warm-up jobs,
// default 5), BENCH_TIMEOUT_MS (per sequential job, default 30000), BENCH_BURST_TIMEOUT_MS (a whole burst,
// default 120000: a burst that has not completed by then is reported as failed, with how far it got),
// BENCH_MAX_JOBS (the bench client's max_jobs setting, default 1000 so that a whole burst may run at once).
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createClient, f1, f2, intEnv, liftedGuards, listen, load, median, migrate, note, percentile, postJson, root, run, startEngine, startWorker, type Worker } from "./lib/harness.ts";

const JOBS = intEnv("BENCH_JOBS", 50);
const BURST = intEnv("BENCH_BURST", 200);
const TASKS = intEnv("BENCH_TASKS", 5);
const WARMUP = intEnv("BENCH_WARMUP", 5);
const TIMEOUT_MS = intEnv("BENCH_TIMEOUT_MS", 30_000);
const BURST_TIMEOUT_MS = intEnv("BENCH_BURST_TIMEOUT_MS", 120_000);
const MAX_JOBS = intEnv("BENCH_MAX_JOBS", 1000);
const ADMIN_TOKEN = `adm_bench_${randomBytes(16).toString("hex")}`;

// ─── the receiver ───────────────────────────────────────────────────────────────────────────────────────

interface Arrival {
  /** performance.now() when the completion notice arrived. */
  at: number;
  /** Date.now() at that moment, to compare with the engine's notice times. */
  wall: number;
  body: Record<string, unknown>;
}

/** Every callback of one job, in arrival order, with the wall time each arrived. */
const trail = new Map<string, { wall: number; body: Record<string, unknown> }[]>();
const done = new Map<string, Arrival>();
const waiters = new Map<string, (arrival: Arrival) => void>();
let callbacksReceived = 0;
let keepTrail = false;

function onHook(request: IncomingMessage, response: ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const at = performance.now();
    const wall = Date.now();
    response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    callbacksReceived++;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    } catch {
      return;
    }
    const id = typeof body.job_id === "string" ? body.job_id : null;
    if (!id) return;
    if (keepTrail) {
      const list = trail.get(id) ?? [];
      list.push({ wall, body });
      trail.set(id, list);
    }
    // The job-end callback: a `status`, no `task_id` (callbacks.md). The baseline sends the same shape.
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

// ─── the two systems under test ─────────────────────────────────────────────────────────────────────────

interface System {
  name: string;
  /** Submits one job; resolves with its id once the submit request has answered. */
  submit(timeoutMs?: number): Promise<string>;
}

async function engineSystem(persist: string, hook: string, workers: Worker[]): Promise<{ system: System; worker: Worker }> {
  migrate(persist);
  const { worker, base } = await startEngine(persist, ADMIN_TOKEN);
  workers.push(worker);
  note(`engine at ${base.href}; creating the bench client`);
  // Lift the client's limits so the bench measures the engine, not its guards.
  const auth = await createClient(base, ADMIN_TOKEN, "bench", liftedGuards(MAX_JOBS), TIMEOUT_MS);
  const jobUrl = new URL("/job", base).href;
  let n = 0;
  return {
    worker,
    system: {
      name: "engine",
      async submit(timeoutMs = TIMEOUT_MS) {
        const body = {
          job: { workflow: "selftest" },
          parameters: { content_id: `bench-${++n}`, tasks: TASKS, shape: "chain", task_ms: 0, rest_endpoints: [hook] },
        };
        const reply = await postJson(jobUrl, body, auth, timeoutMs);
        return String(reply.id);
      },
    },
  };
}

async function workflowSystem(persist: string, hook: string, workers: Worker[]): Promise<{ system: System; worker: Worker }> {
  note("starting the Workflows baseline");
  const worker = await startWorker(join(root, "bench", "workflows-baseline", "wrangler.toml"), persist);
  workers.push(worker);
  const runUrl = new URL("/run", await worker.url).href;
  return {
    worker,
    system: {
      name: "workflows",
      async submit(timeoutMs = TIMEOUT_MS) {
        const reply = await postJson(runUrl, { callback: hook, steps: TASKS }, {}, timeoutMs);
        return String(reply.id);
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
  accepted: number;
  completed: number;
  /** Submit of the first job → the last completion notice (or the deadline, when not ok). */
  ms: number;
  /** Until every submit request had answered (or failed). */
  submitMs: number;
  /** Submit → completion notice, for the jobs that completed. */
  perJob: number[];
  errors: Map<string, number>;
}

/** Submits `count` jobs at once, then waits (until one deadline) for their completion notices. */
async function burst(system: System, count: number): Promise<Burst> {
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
  const done = arrivals.flatMap((arrival) => (arrival.status === "fulfilled" ? [arrival.value.at - t0] : []));
  const ok = done.length === count;
  return {
    ok,
    count,
    accepted: ids.length,
    completed: done.length,
    ms: ok ? Math.max(...done) : Math.max(performance.now(), deadline) - t0,
    submitMs,
    perJob: done,
    errors,
  };
}

function throughputLine(label: string, engine: Burst, workflows: Burst): void {
  const rate = (result: Burst): number => result.completed / (result.ms / 1000);
  const text = (result: Burst): string =>
    result.ok ? `${f1(rate(result))} jobs/s` : `FAILED (${result.completed}/${result.count} done in ${(result.ms / 1000).toFixed(0)} s)`;
  const ratio = engine.ok && workflows.ok ? f2(rate(engine) / rate(workflows)) : "n/a";
  console.log(`${label.padEnd(24)} engine ${text(engine)}  workflows ${text(workflows)}  ratio ${ratio}`);
}

function line(label: string, engine: number, workflows: number, unit: string): void {
  console.log(`${label.padEnd(24)} engine ${f1(engine)} ${unit}  workflows ${f1(workflows)} ${unit}  ratio ${f2(engine / workflows)}`);
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

// ─── main ───────────────────────────────────────────────────────────────────────────────────────────────

// bench/.state/run-<pid>, removed at the end (git-ignored).
run("run", async (scope) => {
  const runDir = scope.dir;
  const { server, port } = await listen(onHook);
  scope.servers.push(server);
  const t = performance.now();
  const engine = await engineSystem(join(runDir, "engine"), `http://127.0.0.1:${port}/hook`, scope.workers);
  const baseline = await workflowSystem(join(runDir, "workflows"), `http://127.0.0.1:${port}/wf`, scope.workers);
  console.log(
    `started engine ${await engine.worker.url} and workflows ${await baseline.worker.url} in ${((performance.now() - t) / 1000).toFixed(1)} s; ` +
      `${JOBS} sequential jobs, bursts of ${BURST}, ${TASKS} tasks each, engine max_jobs ${MAX_JOBS}; node ${process.version}, ` +
      `${cpus().length} cores, load ${load()}`,
  );

  note("warming up");
  // Warm-up: compile, open storage, start the consumers, fill connection pools.
  for (const system of [engine.system, baseline.system]) {
    for (let i = 0; i < WARMUP; i++) await single(system);
    const warm = await burst(system, Math.min(20, BURST));
    if (!warm.ok) note(`${system.name} warm-up burst: only ${warm.completed}/${warm.count} done`);
  }

  // Single-job latency, alternating the two systems job by job so machine noise hits both alike.
  note(`measuring single-job latency (${JOBS} jobs each, alternating)`);
  keepTrail = true;
  const latency = { engine: [] as Single[], workflows: [] as Single[] };
  for (let i = 0; i < JOBS; i++) {
    latency.engine.push(await single(engine.system));
    latency.workflows.push(await single(baseline.system));
  }
  keepTrail = false;

  // Throughput: BURST jobs submitted at once, until the last completion notice arrives. The baseline goes
  // first, so that an engine burst that does not finish cannot slow the baseline's down.
  note(`measuring throughput (${BURST} at once, workflows then engine; deadline ${BURST_TIMEOUT_MS / 1000} s each)`);
  const workflowsBurst = await burst(baseline.system, BURST);
  const received = callbacksReceived;
  const engineBurst = await burst(engine.system, BURST);
  const engineCallbacks = callbacksReceived - received;

  const ms = (runs: Single[]): number[] => runs.map((run) => run.ms);
  console.log(`\nload at the end: ${load()}\n`);
  line("latency p50", median(ms(latency.engine)), median(ms(latency.workflows)), "ms");
  line("latency p99", percentile(ms(latency.engine), 99), percentile(ms(latency.workflows), 99), "ms");
  throughputLine(`throughput (${BURST} at once)`, engineBurst, workflowsBurst);
  console.log("");
  line("submit p50 (sequential)", median(latency.engine.map((r) => r.submitMs)), median(latency.workflows.map((r) => r.submitMs)), "ms");
  line(`burst: all submitted`, engineBurst.submitMs, workflowsBurst.submitMs, "ms");
  if (engineBurst.perJob.length > 0 && workflowsBurst.perJob.length > 0) {
    line(`burst: first done`, Math.min(...engineBurst.perJob), Math.min(...workflowsBurst.perJob), "ms");
    line(`burst: median done`, median(engineBurst.perJob), median(workflowsBurst.perJob), "ms");
  }
  line(`burst: all done`, engineBurst.ms, workflowsBurst.ms, "ms");
  console.log(`engine burst callbacks received: ${engineCallbacks} (expected ${BURST * (2 * TASKS + 1)})`);
  for (const [name, result] of [["engine", engineBurst], ["workflows", workflowsBurst]] as const) {
    if (result.ok) continue;
    scope.fail();
    console.log(
      `${name} burst did NOT finish within ${BURST_TIMEOUT_MS / 1000} s: ${result.accepted}/${result.count} submits accepted, ` +
        `${result.completed}/${result.count} completion notices`,
    );
    for (const [reason, count] of result.errors) console.log(`  ${count} × ${reason}`);
  }
  console.log("");
  engineBreakdown(latency.engine);
});
