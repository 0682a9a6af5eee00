// Fuzzing from the OpenAPI document (issue P5): starts the engine (test/e2e/harness.ts) on a fresh state
// directory, seeds clients and jobs in every state, then sends requests generated from the served
// /openapi.json for every operation (valid and mutated: bodies, headers, query strings, path parameters,
// media types, credentials) and prints the figures. Exit code 1 on any violation (a 5xx, a 4xx outside the
// error shape or with the wrong code, a leaked secret, a refused request that changed the state, …), with
// the offending requests printed to replay them.
//
//   npm run fuzz        (node --experimental-transform-types scripts/fuzz.ts: the e2e harness uses TypeScript
//                        parameter properties, which type stripping alone does not run)
//
// Knobs (environment): FUZZ_REQUESTS (default 10000), FUZZ_SEED (default: random, printed), FUZZ_CONCURRENCY
// (default 6), FUZZ_CHUNK (requests per state comparison, default 40), FUZZ_VALID_SHARE (share of valid
// chunks, default 0.2), FUZZ_TIME_LIMIT_S (default 900), FUZZ_KEEP_STATE=1 keeps the state directory.
import { Engine } from "../test/e2e/harness.ts";
import { runFuzz } from "../test/fuzz/fuzz-runner.ts";
import { formatReport } from "../test/fuzz/report.ts";

// wrangler's local dashboards double the runtime's CPU per request; the fuzz needs neither.
process.env.X_LOCAL_OBSERVABILITY ??= "false";
process.env.X_LOCAL_EXPLORER ??= "false";

function numberEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

const seed = process.env.FUZZ_SEED !== undefined ? numberEnv("FUZZ_SEED", 0) | 0 : (Math.random() * 2 ** 31) | 0;
const t0 = performance.now();
const note = (line: string) => process.stderr.write(`[fuzz ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

note(`seed ${seed}; starting the engine`);
// Short callback timeout: a fuzzed job may name an endpoint that never answers.
const engine = await Engine.start({ name: "openapi-fuzz", vars: { CALLBACK_TIMEOUT_MS: "2000" } });
let exitCode = 1;
try {
  const result = await runFuzz(engine, {
    requests: numberEnv("FUZZ_REQUESTS", 10_000),
    seed,
    concurrency: numberEnv("FUZZ_CONCURRENCY", 6),
    chunkSize: numberEnv("FUZZ_CHUNK", 40),
    validShare: numberEnv("FUZZ_VALID_SHARE", 0.2),
    timeLimitMs: numberEnv("FUZZ_TIME_LIMIT_S", 900) * 1000,
    progress: note,
  });
  process.stdout.write(`${formatReport(result).join("\n")}\n`);
  exitCode = result.stats.violations.length > 0 || !result.snapshotSeesChanges ? 1 : 0;
  if (exitCode !== 0) note(`${result.stats.violations.length} violations; replay with FUZZ_SEED=${seed}`);
} catch (error) {
  note(`the fuzz failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  if (process.env.FUZZ_KEEP_STATE === "1") {
    await engine.stop();
    note(`state kept in ${engine.persistTo}`);
  } else await engine.destroy();
}
process.exit(exitCode);
