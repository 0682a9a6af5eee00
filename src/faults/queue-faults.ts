import { faultyQueue, parseFaultRates } from "./faulty-queue";

/**
 * The build-time switch of queue fault injection. wrangler.toml's `[define]` sets it to the literal `false`,
 * so every build of the engine (`wrangler deploy`, `wrangler dev`, the tests) compiles the branch below to
 * `if (false)` and esbuild leaves faulty-queue.ts out of the bundle. Only the chaos drill builds with
 * `--define __QUEUE_FAULTS__:true`; then, and only then, the `FAULTS` var chooses the rates.
 */
declare const __QUEUE_FAULTS__: boolean;

/** The bindings the switch may wrap, and the test-only var that picks the rates. */
export interface FaultableEnv {
  TASK_QUEUE: Queue;
  CALLBACK_QUEUE: Queue;
  FAULTS?: string;
}

/** `env` itself; in a drill build with `FAULTS` set, a copy whose queue producers drop and duplicate messages. */
export function withQueueFaults<E extends FaultableEnv>(env: E): E {
  // Keep this shape (`if (<switch>) return …`): esbuild removes a dead `if (false)` and what only it uses.
  if (__QUEUE_FAULTS__ && env.FAULTS) return faultyEnv(env);
  return env;
}

function faultyEnv<E extends FaultableEnv>(env: E): E {
  const rates = parseFaultRates(env.FAULTS);
  return { ...env, TASK_QUEUE: faultyQueue(env.TASK_QUEUE, "tasks", rates), CALLBACK_QUEUE: faultyQueue(env.CALLBACK_QUEUE, "callbacks", rates) };
}
