// Fairness bench (efficiency.md, "Fairness under wrangler dev"): 20 jobs of 5 chained tasks of 1.5 s each,
// submitted at once by a client with max_jobs 50, against the local runtime (one consumer batch at a time per
// queue). Prints how long the whole set took beside the ideal (one chain: 7.5 s) and the target (≤ 9.5 s),
// and whether any job's last task ended before every job's first task had started.
//
//   npm run bench:fairness             (node --experimental-strip-types bench/fairness.ts)
//
// Knobs (environment): BENCH_JOBS (default 20), BENCH_TASKS (default 5), BENCH_TASK_MS (default 1500), BENCH_DUMP.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createClient, getText, intEnv, liftedGuards, migrate, note, postJson, run, startEngine } from "./lib/harness.ts";

const JOBS = intEnv("BENCH_JOBS", 20);
const TASKS = intEnv("BENCH_TASKS", 5);
const TASK_MS = intEnv("BENCH_TASK_MS", 1500);
const TARGET_MS = 9_500;
const ADMIN_TOKEN = `adm_bench_${randomBytes(16).toString("hex")}`;

interface Task {
  started_at: string | null;
  ended_at: string | null;
}

run("fairness", async (scope) => {
  migrate(scope.dir);
  // The development setting `npm run dev` passes (scripts/dev.mjs): attempts outlast their batch.
  const { worker, base } = await startEngine(scope.dir, ADMIN_TOKEN, undefined, { TASK_BATCH_BUDGET_MS: "50" });
  scope.workers.push(worker);
  const auth = await createClient(base, ADMIN_TOKEN, "fairness", liftedGuards(50));
  note(`submitting ${JOBS} jobs of ${TASKS} chained tasks of ${TASK_MS} ms at once`);
  const submitted = Date.now();
  const ids = await Promise.all(
    Array.from({ length: JOBS }, async (_, i) => {
      const body = { job: { workflow: "selftest" }, parameters: { content_id: `fair-${i}`, tasks: TASKS, shape: "chain", task_ms: TASK_MS } };
      return (await postJson(new URL("/job", base).href, body, auth)).id as string;
    }),
  );
  const jobs: { tasks: Task[] }[] = [];
  for (const id of ids) {
    for (;;) {
      const job = JSON.parse((await getText(new URL(`/jobs/${id}`, base).href, auth)).text) as { queue_state: string; tasks: Task[] };
      if (job.queue_state === "completed") {
        jobs.push(job);
        break;
      }
      if (Date.now() - submitted > 120_000) throw new Error(`job ${id} not done after 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const ended = Math.max(...jobs.flatMap((job) => job.tasks.map((task) => Date.parse(task.ended_at!))));
  const lastFirstStart = Math.max(...jobs.map((job) => Date.parse(job.tasks[0]!.started_at!)));
  const firstLastEnd = Math.min(...jobs.map((job) => Date.parse(job.tasks.at(-1)!.ended_at!)));
  const took = ended - submitted;
  // BENCH_DUMP=file.json keeps every task's start and end (ms after submit), job by job, for a closer look.
  if (process.env.BENCH_DUMP) writeFileSync(process.env.BENCH_DUMP, JSON.stringify({ submitted, jobs: jobs.map((j) => j.tasks.map((t) => [Date.parse(t.started_at!) - submitted, Date.parse(t.ended_at!) - submitted])) }));
  // Where the time beyond the ideal goes: the hop from one task's end to the next task's start of its job.
  const hops = jobs.flatMap((job) => job.tasks.slice(1).map((task, i) => Date.parse(task.started_at!) - Date.parse(job.tasks[i]!.ended_at!))).sort((a, b) => a - b);
  const hop = (q: number) => hops[Math.min(hops.length - 1, Math.floor(q * hops.length))]!;
  console.log(`${JOBS} jobs × ${TASKS} chained tasks × ${TASK_MS} ms, max_jobs 50`);
  console.log(`  all done after            ${(took / 1000).toFixed(2)} s   (ideal ${((TASKS * TASK_MS) / 1000).toFixed(1)} s, target ≤ ${TARGET_MS / 1000} s)`);
  console.log(`  last first-task start     ${((lastFirstStart - submitted) / 1000).toFixed(2)} s after submit`);
  console.log(`  first last-task end       ${((firstLastEnd - submitted) / 1000).toFixed(2)} s after submit`);
  console.log(`  task to next task         p50 ${hop(0.5)} ms, p90 ${hop(0.9)} ms, max ${hops.at(-1)} ms`);
  const fair = lastFirstStart < firstLastEnd;
  console.log(`  every first task started before any job's last task ended: ${fair ? "yes" : "NO"}`);
  if (took > TARGET_MS || !fair) scope.fail();
});
