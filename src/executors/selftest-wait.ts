import type { SelftestInput } from "../workflows/selftest";
import type { Executor } from "./executor";

/** Waits `task_ms`, then fails if this attempt is one of the planned failures. */
export const selftestWait: Executor = async (input, ctx) => {
  const { task_ms, fail_times } = input as SelftestInput;
  if (task_ms > 0) await sleep(task_ms, ctx.signal);
  if (ctx.attempt <= fail_times) {
    throw new Error(`${ctx.taskName} failed on purpose (attempt ${ctx.attempt} of ${fail_times} planned failures)`);
  }
  return { waited_ms: task_ms };
};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}
