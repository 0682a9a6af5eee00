// Remote workers (P7): how soon a polling worker holds a task that became ready, and how many no-op remote
// tasks per second the lease protocol carries with 1 and 4 worker processes, each beside the same no-op tasks
// on the edge (the engine's own queue consumer), measured in the same run.
//
//   npm run bench:workers              (node --experimental-strip-types bench/workers.ts)
//
// Knobs (environment): BENCH_CHAINS (default 20 chains of 3 tasks), BENCH_FANOUT (default 200 tasks).
import { randomBytes } from "node:crypto";
import { MediaWorker } from "../test/e2e/media-worker.ts";
import { createClient, getText, intEnv, liftedGuards, migrate, note, percentile, postJson, run, startEngine, type ClientHeaders } from "./lib/harness.ts";

const CHAINS = intEnv("BENCH_CHAINS", 20);
const FANOUT = intEnv("BENCH_FANOUT", 200);
const ADMIN_TOKEN = `adm_bench_${randomBytes(16).toString("hex")}`;

interface Task {
  started_at: string;
  ended_at: string;
}
interface Job {
  queue_state: string;
  failed: boolean;
  tasks: Task[];
}

run("workers", async (scope) => {
  migrate(scope.dir);
  const { worker, base } = await startEngine(scope.dir, ADMIN_TOKEN);
  scope.workers.push(worker);
  const url = base.origin;
  const auth = await createClient(base, ADMIN_TOKEN, "workers", liftedGuards(1000));
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const token = (await postJson(`${url}/admin/pools/bench/tokens`, { label: "bench" }, admin)).token as string;
  const workers: MediaWorker[] = [];
  try {
    // One worker process with one slot: after a task it polls again, as a single-slot worker does.
    note(`ready → held: ${CHAINS} chains of 3 no-op tasks, one worker process`);
    workers.push(new MediaWorker(url, token, { pool: "bench", concurrency: 1 }));
    await workers[0]!.waitFor("worker.started", undefined);
    const remoteHops = await chainHops(url, auth, "bench");
    const edgeHops = await chainHops(url, auth, "edge");
    console.log(`ready → held (task i+1 started − task i ended), ${remoteHops.length} hops`);
    console.log(`  remote worker   p50 ${percentile(remoteHops, 50).toFixed(0).padStart(4)} ms   p99 ${percentile(remoteHops, 99).toFixed(0).padStart(4)} ms`);
    console.log(`  edge consumer   p50 ${percentile(edgeHops, 50).toFixed(0).padStart(4)} ms   p99 ${percentile(edgeHops, 99).toFixed(0).padStart(4)} ms   (a chain's next edge task is often taken inline)`);

    note(`throughput: a fan-out of ${FANOUT} no-op tasks`);
    const edge = await fanoutRate(url, auth, "edge");
    const one = await fanoutRate(url, auth, "bench");
    for (let i = 0; i < 3; i++) workers.push(new MediaWorker(url, token, { pool: "bench", concurrency: 1 }));
    await Promise.all(workers.map((process) => process.waitFor("worker.started", undefined)));
    const four = await fanoutRate(url, auth, "bench");
    console.log(`no-op tasks per second (${FANOUT} at once, first start → last end)`);
    console.log(`  1 worker        ${one.toFixed(1).padStart(6)} tasks/s   ratio to edge ${(one / edge).toFixed(2)}`);
    console.log(`  4 workers       ${four.toFixed(1).padStart(6)} tasks/s   ratio to edge ${(four / edge).toFixed(2)}`);
    console.log(`  edge consumer   ${edge.toFixed(1).padStart(6)} tasks/s`);
  } finally {
    await Promise.all(workers.map((process) => process.stop()));
  }
});

async function submit(url: string, auth: ClientHeaders, parameters: Record<string, unknown>): Promise<string> {
  return (await postJson(`${url}/job`, { job: { workflow: "selftest" }, parameters }, auth)).id as string;
}

async function finished(url: string, auth: ClientHeaders, id: string): Promise<Job> {
  const until = Date.now() + 120_000;
  for (;;) {
    const job = JSON.parse((await getText(`${url}/jobs/${id}`, auth)).text) as Job;
    if (job.queue_state === "completed") {
      if (job.failed) throw new Error(`job ${id} failed`);
      return job;
    }
    if (Date.now() > until) throw new Error(`job ${id} not done after 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Chains run one after the other; each hop is the gap between a task's end and its successor's start. */
async function chainHops(url: string, auth: ClientHeaders, runsOn: string): Promise<number[]> {
  const hops: number[] = [];
  for (let i = 0; i < CHAINS; i++) {
    const job = await finished(url, auth, await submit(url, auth, { content_id: `hop-${runsOn}-${i}`, tasks: 3, runs_on: runsOn }));
    for (let t = 1; t < job.tasks.length; t++) hops.push(Date.parse(job.tasks[t]!.started_at) - Date.parse(job.tasks[t - 1]!.ended_at));
  }
  return hops.sort((a, b) => a - b);
}

async function fanoutRate(url: string, auth: ClientHeaders, runsOn: string): Promise<number> {
  const job = await finished(url, auth, await submit(url, auth, { content_id: `fan-${runsOn}-${Date.now()}`, tasks: FANOUT, shape: "fanout", runs_on: runsOn }));
  const first = Math.min(...job.tasks.map((task) => Date.parse(task.started_at)));
  const last = Math.max(...job.tasks.map((task) => Date.parse(task.ended_at)));
  return (1000 * job.tasks.length) / Math.max(1, last - first);
}
