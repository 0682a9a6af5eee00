// `npm run chaos`: the chaos drill (scripts/chaos/drill.ts). Knobs (environment):
//   CHAOS_JOBS (100), CHAOS_KILLS (5), CHAOS_SEED (random, printed), CHAOS_CLIENTS (3), CHAOS_RECEIVERS (3),
//   CHAOS_FAULTS ("drop=0.05,duplicate=0.05"; "" for none), CHAOS_SPAN_S (load window, 0.35 s a job),
//   CHAOS_DRAIN_S (180), CHAOS_KEEP_STATE=1 (keep the state directory; it is kept anyway on failure).
// Figures on stdout, one a line; progress and problems on stderr. Exits 1 unless 0 lost, 0 missing, 0 out of order.
import { drillHeld, runDrill, type DrillOptions } from "./drill.ts";
import { figureLines } from "./report.ts";

function intKnob(name: string, fallback: number, min = 0): number {
  const text = process.env[name];
  const value = text === undefined || text === "" ? fallback : Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return value;
}

const t0 = Date.now();
const note = (message: string) => process.stderr.write(`[chaos ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
const jobs = intKnob("CHAOS_JOBS", 100, 1);
const options: DrillOptions = {
  jobs,
  kills: intKnob("CHAOS_KILLS", 5),
  seed: intKnob("CHAOS_SEED", Math.floor(Math.random() * 2 ** 31)),
  clients: intKnob("CHAOS_CLIENTS", 3, 1),
  receivers: intKnob("CHAOS_RECEIVERS", 3, 1),
  faults: process.env.CHAOS_FAULTS ?? "drop=0.05,duplicate=0.05",
  spanMs: intKnob("CHAOS_SPAN_S", Math.max(10, Math.round(jobs * 0.35)), 1) * 1000,
  drainMs: intKnob("CHAOS_DRAIN_S", 180, 1) * 1000,
  keepState: process.env.CHAOS_KEEP_STATE === "1",
  note,
};

// Exiting runs engine-process.ts's exit hook, which kills the runtime's process group.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

try {
  note(`seed ${options.seed}: ${options.jobs} jobs, ${options.kills} kills, faults ${options.faults || "none"}`);
  const result = await runDrill(options);
  for (const line of figureLines(options, result)) process.stdout.write(`${line}\n`);
  for (const line of [...result.figures.problems, ...result.storageProblems, ...result.failures, ...result.drillErrors]) note(line);
  process.exitCode = drillHeld(result) ? 0 : 1;
} catch (error) {
  note(`the drill could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 2;
}
