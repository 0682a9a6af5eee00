import { setTimeout as sleep } from "node:timers/promises";
import type { WorkerExecutor } from "./executor.ts";

/** `selftest.wait` on a remote worker: waits `task_ms`, fails the first `fail_times` attempts (like the edge one). */
export const selftestWait: WorkerExecutor = async (input, ctx) => {
  const { task_ms = 0, fail_times = 0 } = input as { task_ms?: number; fail_times?: number };
  // Progress as time passes, so the engine's progress (and task.progress callbacks) can be watched.
  const started = Date.now();
  const ticker = setInterval(() => ctx.progress((100 * (Date.now() - started)) / task_ms, "waiting"), 250);
  try {
    if (task_ms > 0) await sleep(task_ms, undefined, { signal: ctx.signal });
  } finally {
    clearInterval(ticker);
  }
  if (ctx.attempt <= fail_times) throw new Error(`failed on purpose (attempt ${ctx.attempt} of ${fail_times} planned failures)`);
  return { output: { waited_ms: task_ms }, files: [] };
};
