// The reference media worker (workers.md): leases tasks of a pool from the engine, runs them with ffmpeg /
// ffprobe, uploads checked outputs, reports. Node, not Workers code.
//
//   npm run worker -- --engine http://localhost:8787 --token wkr_… --pool media --concurrency 2
//
// The token may also come from TASK_ENGINE_WORKER_TOKEN. SIGTERM / SIGINT: stop leasing, let running leases
// finish for --grace-s seconds (default 30), then stop them (reported failed, retryable) and exit.
import { mkdir } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { EngineClient } from "./engine.ts";
import { log } from "./log.ts";
import { runLease } from "./run-lease.ts";
import { missingBinaries } from "./tools.ts";
import { packagerBinary } from "./executors/package.ts";
import { existsSync } from "node:fs";

const { values } = parseArgs({
  options: {
    engine: { type: "string" },
    token: { type: "string" },
    pool: { type: "string", default: "media" },
    concurrency: { type: "string", default: "1" },
    "worker-id": { type: "string" },
    scratch: { type: "string" },
    "grace-s": { type: "string", default: "30" },
  },
});
const token = values.token ?? process.env.TASK_ENGINE_WORKER_TOKEN;
const concurrency = Number(values.concurrency);
if (!values.engine || !token || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
  process.stderr.write("usage: npm run worker -- --engine URL --token wkr_… [--pool media] [--concurrency N (1-64)] [--worker-id ID] [--scratch DIR] [--grace-s 30]\n");
  process.exit(2);
}
const missing = missingBinaries();
try {
  if (!existsSync(packagerBinary())) missing.push("shaka-packager (run npm install)");
} catch (error) {
  missing.push(`shaka-packager (${error instanceof Error ? error.message : String(error)})`);
}
if (missing.length > 0) {
  process.stderr.write(`task-engine worker: ${missing.join(" and ")} not found on PATH. Install ffmpeg (Debian/Ubuntu: apt-get install -y --no-install-recommends ffmpeg; macOS: brew install ffmpeg).\n`);
  process.exit(2);
}

const workerId = values["worker-id"] ?? `${hostname()}#${process.pid}`;
const scratchRoot = values.scratch ?? join(tmpdir(), `task-engine-worker-${process.pid}`);
await mkdir(scratchRoot, { recursive: true });
const engine = new EngineClient(values.engine.replace(/\/$/, ""), token);
const stopLeasing = new AbortController();
const stopWork = new AbortController();
let holding = 0;

/** One slot: long-polls for a lease, runs it, again; waits (up to 30 s, doubling) while the engine is unreachable. */
async function slot(index: number): Promise<void> {
  let backoff = 1000;
  while (!stopLeasing.signal.aborted) {
    try {
      const [lease] = await engine.lease({ pool: values.pool!, worker_id: workerId, label: hostname(), max: 1, wait_s: 20, holding }, stopLeasing.signal);
      backoff = 1000;
      if (!lease) continue;
      holding++;
      try {
        await runLease(engine, lease, scratchRoot, stopWork.signal);
      } finally {
        holding--;
      }
    } catch (error) {
      if (stopLeasing.signal.aborted) break;
      log("engine.unreachable", { slot: index, error: String(error), retry_in_ms: backoff });
      await sleep(backoff);
      backoff = Math.min(30_000, backoff * 2);
    }
  }
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log("worker.draining", { signal, holding, grace_s: Number(values["grace-s"]) });
    stopLeasing.abort();
    setTimeout(() => stopWork.abort(), Number(values["grace-s"]) * 1000).unref();
  });
}

log("worker.started", { worker_id: workerId, pool: values.pool, concurrency, engine: values.engine });
await Promise.all(Array.from({ length: concurrency }, (_, i) => slot(i)));
log("worker.stopped", { worker_id: workerId });
