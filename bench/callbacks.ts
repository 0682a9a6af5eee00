// Callback benchmark (P2 figures): how long a callback takes from the event (the body's `time` field, set by
// the engine when it recorded the event) to its receipt at a local node:http receiver, and how many callbacks per
// second reach that receiver when many jobs run at once; beside a bare worker that sends the same number of
// bodies to the same receiver through a Cloudflare Queue (bench/callbacks-baseline/), measured in the same run.
//
//   npm run bench:callbacks            (node --experimental-strip-types bench/callbacks.ts)
//
// Knobs (environment): BENCH_JOBS (jobs submitted at once, default 200), BENCH_TASKS (tasks per job, a chain,
// default 3), BENCH_ENDPOINTS (rest_endpoints per job, default 2), BENCH_LATENCY_JOBS (sequential jobs for the
// idle latency, default 20), BENCH_TIMEOUT_MS (one sequential job, default 30000), BENCH_BURST_TIMEOUT_MS (all
// callbacks of the burst, default 120000).
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createClient, f1, intEnv, liftedGuards, listen, load, median, migrate, note, pairLine, percentile, postJson, root, run, since, startEngine, startWorker } from "./lib/harness.ts";

const JOBS = intEnv("BENCH_JOBS", 200);
const TASKS = intEnv("BENCH_TASKS", 3);
const ENDPOINTS = intEnv("BENCH_ENDPOINTS", 2);
const LATENCY_JOBS = intEnv("BENCH_LATENCY_JOBS", 20);
const TIMEOUT_MS = intEnv("BENCH_TIMEOUT_MS", 30_000);
const BURST_TIMEOUT_MS = intEnv("BENCH_BURST_TIMEOUT_MS", 120_000);
const ADMIN_TOKEN = `adm_bench_${randomBytes(16).toString("hex")}`;
/** Callbacks of one job per endpoint: a start and a complete per task, then the job's end. */
const PER_JOB = 2 * TASKS + 1;

// ─── the receiver ───────────────────────────────────────────────────────────────────────────────────────

interface Arrival {
  /** "e" (engine) or "b" (baseline), and the endpoint's number. */
  side: string;
  endpoint: number;
  /** performance.now() and Date.now() when the body had arrived. */
  at: number;
  wall: number;
  /** Date.parse(body.time): when the sender says the event happened. */
  eventWall: number;
  jobId: string;
  sequence: number;
  jobEnd: boolean;
  webhookId: string | undefined;
}

const arrivals: Arrival[] = [];
/** Resolved when a count of arrivals is reached (see `arrived`). */
let watcher: { side: string; jobId: string | null; count: number; resolve: () => void } | null = null;
/** Distinct callbacks received, per side and per job. */
const counts = new Map<string, number>();
const seen = new Set<string>();

function countKey(side: string, jobId: string | null): string {
  return `${side}:${jobId ?? "*"}`;
}

function onHook(request: IncomingMessage, response: ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const at = performance.now();
    const wall = Date.now();
    response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    const match = /^\/([eb])\/(\d+)$/.exec(request.url ?? "");
    if (!match) return;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    } catch {
      return;
    }
    const side = match[1]!;
    const jobId = String(body.job_id);
    arrivals.push({
      side,
      endpoint: Number(match[2]),
      at,
      wall,
      eventWall: Date.parse(String(body.time)),
      jobId,
      sequence: Number(body.sequence),
      jobEnd: !("task_id" in body),
      webhookId: request.headers["webhook-id"] as string | undefined,
    });
    // Count each (job, endpoint, sequence) once: a redelivered callback must not stand in for a missing one.
    const distinct = `${side} ${jobId} ${match[2]} ${String(body.sequence)}`;
    if (seen.has(distinct)) return;
    seen.add(distinct);
    for (const key of [countKey(side, jobId), countKey(side, null)]) counts.set(key, (counts.get(key) ?? 0) + 1);
    if (watcher && watcher.side === side && (counts.get(countKey(side, watcher.jobId)) ?? 0) >= watcher.count) {
      const { resolve } = watcher;
      watcher = null;
      resolve();
    }
  });
}

/** Waits until `count` distinct callbacks of one side (and one job, if given) have arrived; false at the deadline. */
function arrived(side: string, jobId: string | null, count: number, timeoutMs: number): Promise<boolean> {
  if ((counts.get(countKey(side, jobId)) ?? 0) >= count) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      watcher = null;
      resolve(false);
    }, timeoutMs);
    watcher = {
      side,
      jobId,
      count,
      resolve: () => {
        clearTimeout(timer);
        resolve(true);
      },
    };
  });
}

// ─── the two senders ────────────────────────────────────────────────────────────────────────────────────

interface Sender {
  side: string;
  /** Starts one job (engine) or enqueues one job's bodies (baseline); resolves with the job id. */
  send(events: number): Promise<string>;
}

// ─── measurements ───────────────────────────────────────────────────────────────────────────────────────

interface Burst {
  ok: boolean;
  ids: string[];
  errors: Map<string, number>;
  expected: number;
  /** performance.now() and Date.now() of the first send. */
  start: number;
  startWall: number;
  /** Arrivals of this burst. */
  got: Arrival[];
  submitMs: number;
}

async function burst(sender: Sender, jobs: number, events: number): Promise<Burst> {
  const before = arrivals.length;
  const already = counts.get(countKey(sender.side, null)) ?? 0;
  const start = performance.now();
  const startWall = Date.now();
  const sends = await Promise.allSettled(Array.from({ length: jobs }, () => sender.send(events)));
  const submitMs = since(start);
  const errors = new Map<string, number>();
  const ids: string[] = [];
  for (const send of sends) {
    if (send.status === "fulfilled") ids.push(send.value);
    else {
      const reason = send.reason instanceof Error ? send.reason.message.replace(/^POST \S+ /, "") : String(send.reason);
      errors.set(reason, (errors.get(reason) ?? 0) + 1);
    }
  }
  const expected = ids.length * events * ENDPOINTS;
  const ok = (await arrived(sender.side, null, already + expected, Math.max(1, BURST_TIMEOUT_MS - since(start)))) && ids.length === jobs;
  // Stragglers (redeliveries) that come right after the last expected one still count as received.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const idSet = new Set(ids);
  const got = arrivals.slice(before).filter((arrival) => arrival.side === sender.side && idSet.has(arrival.jobId));
  return { ok, ids, errors, expected, start, startWall, got, submitMs };
}

interface Check {
  unique: number;
  duplicates: number;
  missing: number;
  outOfOrder: number;
}

/** Counts, per job and endpoint, the sequences received once, again (same webhook-id or sequence), never, or out of order. */
function check(ids: string[], events: number, got: Arrival[]): Check {
  const seen = new Map<string, Set<number>>();
  const last = new Map<string, number>();
  let duplicates = 0;
  let outOfOrder = 0;
  for (const arrival of got) {
    const key = `${arrival.jobId} ${arrival.endpoint}`;
    const set = seen.get(key) ?? new Set<number>();
    if (set.has(arrival.sequence)) duplicates++;
    set.add(arrival.sequence);
    seen.set(key, set);
    if (arrival.sequence < (last.get(key) ?? 0)) outOfOrder++;
    last.set(key, Math.max(arrival.sequence, last.get(key) ?? 0));
  }
  let unique = 0;
  for (const set of seen.values()) unique += [...set].filter((sequence) => sequence >= 1 && sequence <= events).length;
  return { unique, duplicates, missing: ids.length * ENDPOINTS * events - unique, outOfOrder };
}

function latencies(got: Arrival[]): number[] {
  return got.map((arrival) => arrival.wall - arrival.eventWall);
}

/** Callbacks received in each whole second after the first send, and the overall rate to the last one. */
function rates(result: Burst): { perSecond: number[]; overall: number; spanMs: number } {
  const spanMs = result.got.length === 0 ? 0 : Math.max(...result.got.map((arrival) => arrival.at)) - result.start;
  const perSecond = Array.from({ length: Math.ceil(spanMs / 1000) }, () => 0);
  for (const arrival of result.got) perSecond[Math.min(perSecond.length - 1, Math.floor((arrival.at - result.start) / 1000))]!++;
  return { perSecond, overall: result.got.length / (spanMs / 1000), spanMs };
}

// ─── main ───────────────────────────────────────────────────────────────────────────────────────────────

run("callbacks", async (scope) => {
  const { server, port } = await listen(onHook);
  scope.servers.push(server);
  const hooks = (side: string): string[] => Array.from({ length: ENDPOINTS }, (_, i) => `http://127.0.0.1:${port}/${side}/${i + 1}`);

  const t = performance.now();
  const enginePersist = join(scope.dir, "engine");
  migrate(enginePersist);
  const { worker: engineWorker, base } = await startEngine(enginePersist, ADMIN_TOKEN);
  scope.workers.push(engineWorker);
  note("starting the queue baseline");
  const bare = await startWorker(join(root, "bench", "callbacks-baseline", "wrangler.toml"), join(scope.dir, "baseline"));
  scope.workers.push(bare);
  const bareBase = await bare.url;
  note("creating the bench client");
  const auth = await createClient(base, ADMIN_TOKEN, "bench", liftedGuards(Math.max(1000, JOBS)), TIMEOUT_MS);
  console.log(
    `started engine ${base} and queue baseline ${bareBase} in ${(since(t) / 1000).toFixed(1)} s; ${JOBS} jobs at once × ${TASKS} tasks ` +
      `(chain, 0 ms) × ${ENDPOINTS} endpoints = ${JOBS * PER_JOB * ENDPOINTS} callbacks; node ${process.version}, ${cpus().length} cores, load ${load()}`,
  );

  const jobUrl = new URL("/job", base).href;
  let n = 0;
  const engine: Sender = {
    side: "e",
    async send() {
      const body = {
        job: { workflow: "selftest" },
        parameters: { content_id: `cb-${++n}`, tasks: TASKS, shape: "chain", task_ms: 0, rest_endpoints: hooks("e") },
      };
      return String((await postJson(jobUrl, body, auth, BURST_TIMEOUT_MS)).id);
    },
  };
  const emitUrl = new URL("/emit", bareBase).href;
  let m = 0;
  const baseline: Sender = {
    side: "b",
    async send(events: number) {
      const jobId = `base-${++m}`;
      await postJson(emitUrl, { job_id: jobId, endpoints: hooks("b"), events }, {}, BURST_TIMEOUT_MS);
      return jobId;
    },
  };

  note("warming up");
  for (const sender of [engine, baseline]) {
    for (let i = 0; i < 3; i++) {
      const id = await sender.send(PER_JOB);
      if (!(await arrived(sender.side, id, PER_JOB * ENDPOINTS, TIMEOUT_MS))) note(`${sender.side} warm-up job ${id}: callbacks missing`);
    }
    const warm = await burst(sender, Math.min(20, JOBS), PER_JOB);
    if (!warm.ok) note(`${sender.side} warm-up burst: ${warm.got.length}/${warm.expected} callbacks`);
  }

  // Idle latency: one job at a time (engine), one body at a time (baseline), alternating.
  note(`idle latency: ${LATENCY_JOBS} sequential jobs (engine) / ${LATENCY_JOBS * PER_JOB} single bodies (baseline)`);
  const idle = { engine: [] as Arrival[], baseline: [] as Arrival[], lost: 0 };
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const id = await engine.send(PER_JOB);
    if (await arrived("e", id, PER_JOB * ENDPOINTS, TIMEOUT_MS)) idle.engine.push(...arrivals.filter((arrival) => arrival.jobId === id));
    else idle.lost++;
    for (let k = 0; k < PER_JOB; k++) {
      const single = await baseline.send(1);
      if (await arrived("b", single, ENDPOINTS, TIMEOUT_MS)) idle.baseline.push(...arrivals.filter((arrival) => arrival.jobId === single));
      else idle.lost++;
    }
  }

  note(`burst: ${JOBS} jobs at once, baseline then engine (deadline ${BURST_TIMEOUT_MS / 1000} s each)`);
  const baselineBurst = await burst(baseline, JOBS, PER_JOB);
  const engineBurst = await burst(engine, JOBS, PER_JOB);

  // ── figures ──
  console.log(`\nload at the end: ${load()}\n`);
  if (idle.lost > 0) {
    scope.fail();
    console.log(`idle latency: ${idle.lost} jobs / bodies did not get all their callbacks within ${TIMEOUT_MS / 1000} s`);
  }
  console.log(`callback latency = receipt at the receiver − the body's "time" (ms resolution, same machine clock)`);
  if (idle.engine.length > 0 && idle.baseline.length > 0) {
    const e = latencies(idle.engine);
    const b = latencies(idle.baseline);
    console.log(pairLine("latency p50, idle (1 job at a time)", median(e), median(b), "ms", "queue baseline", 38));
    console.log(pairLine("latency p99, idle (1 job at a time)", percentile(e, 99), percentile(b, 99), "ms", "queue baseline", 38));
  }
  const eRate = rates(engineBurst);
  const bRate = rates(baselineBurst);
  if (engineBurst.got.length > 0 && baselineBurst.got.length > 0) {
    const e = latencies(engineBurst.got);
    const b = latencies(baselineBurst.got);
    console.log(pairLine(`latency p50, ${JOBS} jobs at once`, median(e), median(b), "ms", "queue baseline", 38));
    console.log(pairLine(`latency p99, ${JOBS} jobs at once`, percentile(e, 99), percentile(b, 99), "ms", "queue baseline", 38));
    console.log(pairLine(`callbacks/s, ${JOBS} jobs at once`, eRate.overall, bRate.overall, "/s", "queue baseline", 38));
  }
  console.log("");
  for (const [name, result, rate] of [["engine", engineBurst, eRate], ["queue baseline", baselineBurst, bRate]] as const) {
    const c = check(result.ids, PER_JOB, result.got);
    console.log(
      `${name}: ${result.ids.length}/${JOBS} jobs accepted (all sent in ${(result.submitMs / 1000).toFixed(1)} s); ` +
        `${result.got.length} callbacks received for ${result.expected} expected in ${(rate.spanMs / 1000).toFixed(1)} s: ` +
        `${c.unique} distinct, ${c.missing} missing, ${c.duplicates} duplicates, ${c.outOfOrder} out of order`,
    );
    console.log(`  received in each second after the first send: ${rate.perSecond.join(" ")}${rate.perSecond.length > 0 ? ` (the last second partial)` : ""}`);
    // When the events happened (the bodies' time), in the same seconds: tells running the jobs from delivering.
    const happened = Array.from({ length: rate.perSecond.length }, () => 0);
    for (const arrival of result.got) happened[Math.max(0, Math.min(happened.length - 1, Math.floor((arrival.eventWall - result.startWall) / 1000)))]!++;
    console.log(`  events (body time) in each second after the first send: ${happened.join(" ")}`);
    if (name === "engine") {
      const ends = result.got.filter((arrival) => arrival.jobEnd);
      if (ends.length > 0) console.log(`  job-end callbacks: latency p50 ${f1(median(latencies(ends))).trim()} ms, last one ${((Math.max(...ends.map((a) => a.at)) - result.start) / 1000).toFixed(1)} s after the first submit`);
      const ids = new Set(result.got.map((arrival) => arrival.webhookId));
      console.log(`  distinct webhook-id: ${ids.size}`);
    }
    if (!result.ok || c.missing > 0) {
      scope.fail();
      console.log(`  ${name} burst did NOT deliver every callback within ${BURST_TIMEOUT_MS / 1000} s`);
      for (const [reason, count] of result.errors) console.log(`  ${count} × ${reason}`);
    }
  }
});
