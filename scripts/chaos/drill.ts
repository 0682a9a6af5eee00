import { randomBytes } from "node:crypto";
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Receiver } from "../../test/e2e/receiver.ts";
import { EngineApi } from "./api.ts";
import { storageEffectProblem } from "./effects.ts";
import { EngineProcess, freePort, type FaultCounts } from "./engine-process.ts";
import { computeFigures, type Arrival, type Figures, type LogEntry } from "./figures.ts";
import { Flapper, type FlapCounts } from "./flapper.ts";
import { drain, killAtRandom, Load, type ClientAuth, type Submitted } from "./load.ts";
import { seededRandom } from "./random.ts";
import { applyMigrations, buildEngine, keptName, listMedia, newStateDir, seedMedia } from "./state.ts";
import { planWorkload, type Shape } from "./workload.ts";

/**
 * The chaos drill (issue P5): jobs of every shape from several clients, while the runtime is SIGKILLed and
 * restarted on the same state, queue messages are dropped and duplicated (the test-only fault switch) and
 * callback receivers flap. Then it waits for every job to end and every callback to be delivered, and counts.
 */

export interface DrillOptions {
  jobs: number;
  kills: number;
  seed: number;
  clients: number;
  receivers: number;
  /** The FAULTS var (e.g. `drop=0.05,duplicate=0.05`); empty: the switch is built in but injects nothing. */
  faults: string;
  /** The load window the submissions are spread over; kills fall in it and a little after. */
  spanMs: number;
  /** How long to wait, after the last kill and submission, for every job to end and every callback to arrive. */
  drainMs: number;
  /** Keep the state directory (it is kept anyway when the drill fails). */
  keepState: boolean;
  note: (message: string) => void;
}

export interface DrillResult {
  figures: Figures;
  kills: number;
  faults: FaultCounts;
  flaps: FlapCounts;
  /** Jobs by shape (reruns included); POST /job submissions; reruns; jobs paused and resumed. */
  shapes: Record<Shape, number>;
  posted: number;
  reruns: number;
  pausedAndResumed: number;
  /** Completed storage jobs whose objects are not as a completed job leaves them. */
  storageProblems: string[];
  /** Jobs that ended with failed: true (apart from those a rerun replaced), with why. */
  failures: string[];
  /** Requests that met the engine down (or a 5xx) and were repeated. */
  apiRetries: number;
  /** The drill could not do what it planned (a request refused, an unexpected answer). */
  drillErrors: string[];
  /** Whether every job ended and every delivery log settled before the drain deadline. */
  drained: boolean;
  drainMs: number;
  durationMs: number;
}

/** Short leases, so that the watchdog acts within seconds of a kill or a lost message. */
export const DRILL_VARS = { DISPATCH_LEASE_MS: "1000", LEASE_GRACE_MS: "1000", CALLBACK_TIMEOUT_MS: "3000" };
/** Each client's settings: a callback retry schedule of ~40 s in all keeps the drill bounded. */
export const CLIENT_SETTINGS: Record<string, string> = {
  max_jobs: "6",
  retry_delay: "0.2",
  retry_limit: "6",
  callback_retry_schedule: "1,1,2,2,3,3,5,5,5,5",
  rate_limit: "100000",
  rate_burst: "100000",
};

/** The parts of `GET /jobs/{id}` the drill reads. */
interface JobView {
  queue_state: string;
  failed: boolean;
  tasks: { task_name: string; state: string; attempts: number; message: string }[];
}

export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  const startedAt = Date.now();
  const { note } = options;
  const clientNames = Array.from({ length: options.clients }, (_, i) => `chaos-${String.fromCharCode(97 + i)}`);
  const rootOf = (client: number) => `chaos/${clientNames[client]}`;
  const workload = planWorkload(seededRandom(options.seed), { jobs: options.jobs, clients: options.clients, receivers: options.receivers, spanMs: options.spanMs, rootOf });
  const stateDir = newStateDir();
  const adminToken = `adm_chaos_${randomBytes(18).toString("base64url")}`;
  const receivers = await Promise.all(Array.from({ length: options.receivers }, () => Receiver.start()));
  const flapper = new Flapper(receivers, (index) => seededRandom(options.seed * 7919 + index + 1));
  let engine: EngineProcess | null = null;
  let ok = false;
  try {
    note(`state ${stateDir}: building the engine with the fault switch on, applying D1 migrations, seeding ${Object.keys(workload.media).length} R2 objects`);
    const [config] = await Promise.all([buildEngine(stateDir, { __QUEUE_FAULTS__: "true" }), applyMigrations(stateDir)]);
    await seedMedia(stateDir, workload.media);
    const vars: Record<string, string> = { ADMIN_TOKEN: adminToken, ALLOW_PRIVATE_CALLBACKS: "true", ...DRILL_VARS };
    if (options.faults) vars.FAULTS = options.faults;
    engine = new EngineProcess({ config, persistTo: stateDir, port: await freePort(), vars, logFile: join(stateDir, "engine.log") });
    await engine.start();
    note(`engine up at ${engine.url} (faults: ${options.faults || "none"})`);
    const api = new EngineApi(engine.url);
    const clients = await Promise.all(clientNames.map((name, index) => createClient(api, adminToken, name, rootOf(index))));

    // Load, kills and flapping receivers at once; then the receivers stay up and the drill waits.
    const load = new Load(api, clients, receivers, options.seed, note);
    const running = engine;
    flapper.start();
    const loadStart = Date.now();
    await Promise.all([load.run(workload.jobs, loadStart), killAtRandom(running, options.kills, options.seed, options.spanMs, loadStart, note)]);
    await flapper.stop();
    note(`load done: ${load.jobs.length} jobs, ${running.kills} kills; receivers up; draining (faults stay ${options.faults ? "on" : "off"})`);
    const drainStart = Date.now();
    const drained = await drain(api, load.jobs, drainStart + options.drainMs, note);
    const drainMs = Date.now() - drainStart;

    // The engine's final word on every job, then what the receivers and the bucket hold.
    const { finals, logs } = await collect(api, load.jobs);
    await running.stop();
    const figures = computeFigures(load.jobs, finals, logs, arrivalsOf(receivers));
    const { storageProblems, failures } = checkOutcomes(load.jobs, finals, await listMedia(stateDir, "chaos/"), rootOf);

    const shapes = { chain: 0, fanout: 0, voddelete: 0, asset_delete: 0, drmswitch: 0 } satisfies Record<Shape, number>;
    for (const job of load.jobs) shapes[job.plan.shape]++;
    const result: DrillResult = {
      figures,
      kills: running.kills,
      faults: { ...running.faults },
      flaps: { ...flapper.counts },
      shapes,
      posted: load.posted,
      reruns: load.reruns,
      pausedAndResumed: load.pausedAndResumed,
      storageProblems,
      failures,
      apiRetries: api.counters.networkErrors + api.counters.serverErrors,
      drillErrors: load.errors,
      drained,
      drainMs,
      durationMs: Date.now() - startedAt,
    };
    ok = drillHeld(result);
    return result;
  } finally {
    await flapper.stop();
    await engine?.stop();
    await Promise.all(receivers.map((receiver) => receiver.stop()));
    if (ok && !options.keepState) rmSync(stateDir, { recursive: true, force: true });
    else {
      // Renamed out of the pattern the e2e harness sweeps (`-<dead pid>-<hex>`), so it stays for a person to read.
      const kept = keptName();
      renameSync(stateDir, kept);
      note(`state kept: ${kept} (engine log: ${join(kept, "engine.log")})`);
    }
  }
}

/** The figure to hold: 0 lost, 0 missing, 0 out of order (and nothing the accounting cannot explain). */
export function drillHeld(result: DrillResult): boolean {
  const f = result.figures;
  return (
    f.jobsLost === 0 &&
    f.callbacksOutOfOrder === 0 &&
    f.callbacksMissing === 0 &&
    f.callbacksNotDeliveredInLogs === 0 &&
    f.crossCheckMismatches === 0 &&
    f.callbacksUnexpected === 0 &&
    f.duplicatesWithOtherBody === 0 &&
    result.drillErrors.length === 0
  );
}

/** A client through the operator API: its storage in the local R2 bucket below its own root, and drill settings. */
async function createClient(api: EngineApi, adminToken: string, name: string, root: string): Promise<ClientAuth> {
  const admin = { authorization: `Bearer ${adminToken}` };
  const created = await api.once<{ api_key: string }>("POST", "/admin/clients", admin, { name });
  if (created.status !== 201) throw new Error(`POST /admin/clients answered ${created.status}: ${JSON.stringify(created.body)}`);
  const storage = await api.once("PUT", `/admin/clients/${name}/storage`, admin, {
    default: "R2",
    locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: root } } },
  });
  if (storage.status !== 200) throw new Error(`PUT storage answered ${storage.status}: ${JSON.stringify(storage.body)}`);
  const headers = { client: name, "api-key": created.body.api_key };
  for (const [setting, value] of Object.entries(CLIENT_SETTINGS)) {
    const answer = await api.once("POST", "/settings", headers, { name: setting, setting: value });
    if (answer.status !== 200) throw new Error(`POST /settings ${setting} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return { name, headers };
}

/** Every job's object (absent when the engine does not know it) and delivery log. */
async function collect(api: EngineApi, jobs: readonly Submitted[]): Promise<{ finals: Map<string, JobView>; logs: Map<string, LogEntry[]> }> {
  const finals = new Map<string, JobView>();
  const logs = new Map<string, LogEntry[]>();
  for (const job of jobs) {
    const final = await api.retrying<JobView>("GET", `/jobs/${job.id}`, job.client.headers);
    if (final.status === 200) finals.set(job.id, final.body);
    const log = await api.retrying<LogEntry[]>("GET", `/jobs/${job.id}/callbacks`, job.client.headers);
    logs.set(job.id, log.status === 200 ? log.body : []);
  }
  return { finals, logs };
}

/** Every request the receivers got, in arrival order per receiver (an endpoint lives on one receiver). */
function arrivalsOf(receivers: readonly Receiver[]): Arrival[] {
  return receivers.flatMap((receiver) =>
    receiver.received.map((request) => ({
      endpoint: `http://127.0.0.1:${receiver.port}${request.path}`,
      webhookId: String(request.headers["webhook-id"]),
      status: request.status,
      raw: request.raw,
    })),
  );
}

/** Jobs that ended failed (with why), and completed storage jobs whose objects are not as they should be. */
function checkOutcomes(jobs: readonly Submitted[], finals: ReadonlyMap<string, JobView>, media: readonly string[], rootOf: (client: number) => string): { storageProblems: string[]; failures: string[] } {
  const storageProblems: string[] = [];
  const failures: string[] = [];
  for (const job of jobs) {
    const final = finals.get(job.id);
    if (!final || job.replaced) continue;
    if (final.failed) {
      const failed = final.tasks.find((task) => task.state === "failed");
      failures.push(`job ${job.id} (${job.shape}) failed: ${failed ? `${failed.task_name}: ${failed.message}` : "no failed task"}`);
    } else if (final.queue_state === "completed") {
      const problem = storageEffectProblem(job.plan, rootOf(job.plan.client), media);
      if (problem) storageProblems.push(`job ${job.id}: ${problem}`);
    }
  }
  return { storageProblems, failures };
}
