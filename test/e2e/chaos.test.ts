import { expect, test } from "vitest";
import { drillHeld, runDrill, type DrillOptions } from "../../scripts/chaos/drill.ts";
import { figureLines } from "../../scripts/chaos/report.ts";

/**
 * The chaos drill in a short form (the full one is `npm run chaos`): jobs of every shape from two clients
 * while the runtime is SIGKILLed and restarted twice, queue messages are dropped and duplicated (the
 * test-only fault switch) and the callback receivers flap. Every job must end and every callback arrive,
 * in order per endpoint. A failure names the seed: `CHAOS_SEED=<seed> npm run chaos` replays the workload.
 */

// A fixed seed, so the suite gives the same answer every run (`npm run chaos` explores new ones).
const seed = Number(process.env.CHAOS_SEED) || 20_261_130;
const progress: string[] = [];

test(`jobs and callbacks survive kills, lost and duplicated queue messages and flapping receivers (seed ${seed})`, { timeout: 180_000 }, async () => {
  const options: DrillOptions = {
    jobs: 20,
    kills: 2,
    seed,
    clients: 2,
    receivers: 2,
    faults: "drop=0.05,duplicate=0.05",
    spanMs: 8_000,
    drainMs: 75_000,
    keepState: false,
    note: (message) => {
      progress.push(message);
      if (process.env.E2E_WORKER_LOGS === "1") process.stderr.write(`[chaos] ${message}\n`);
    },
  };
  const result = await runDrill(options);
  const report = [...figureLines(options, result), ...result.figures.problems, ...result.drillErrors, ...progress].join("\n");
  expect(result.figures, report).toMatchObject({
    jobsSubmitted: result.posted + result.reruns,
    jobsLost: 0,
    callbacksOutOfOrder: 0,
    callbacksMissing: 0,
    callbacksNotDeliveredInLogs: 0,
    crossCheckMismatches: 0,
    callbacksUnexpected: 0,
    duplicatesWithOtherBody: 0,
  });
  expect(result.posted, report).toBe(20);
  expect(result.figures.callbacksDelivered, report).toBe(result.figures.callbacksExpected);
  expect(result.figures.callbacksExpected, report).toBeGreaterThan(20);
  expect(result.kills, report).toBe(2);
  expect(result.drained, report).toBe(true);
  expect(result.storageProblems, report).toStrictEqual([]);
  expect(drillHeld(result), report).toBe(true);
});
