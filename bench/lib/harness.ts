// Shared helpers of the bench scripts (bench/*.ts): progress notes, environment knobs, HTTP helpers, starting
// workers with wrangler's unstable_startWorker, the engine and its clients, statistics, and one run's scope
// (state directory, workers and receivers that are cleaned up on exit and on Ctrl-C).
//
// The scripts import this file as "./lib/harness.ts": Node's type stripping needs the extension (tsconfig has
// allowImportingTsExtensions for it).
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { unstable_startWorker } from "wrangler";

export type Worker = Awaited<ReturnType<typeof unstable_startWorker>>;

// Quiet wrangler's per-request and per-queue-batch lines (read when each line is logged); errors still show.
process.env.WRANGLER_LOG ??= "warn";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";
// wrangler's local dashboards (observability collector, data explorer) are on by default and roughly double
// the runtime's CPU per request, for the engine and the baselines alike; a deployed Worker has neither.
// Set them to "true" to measure with them.
process.env.X_LOCAL_OBSERVABILITY ??= "false";
process.env.X_LOCAL_EXPLORER ??= "false";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const stateRoot = join(root, "bench", ".state");
const wranglerBin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");

const t0 = performance.now();
/** Progress notes on stderr, so stdout holds only the figures. */
export function note(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

export function intEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

export function load(): string {
  return loadavg().map((value) => value.toFixed(1)).join(" ");
}

// ─── HTTP ───────────────────────────────────────────────────────────────────────────────────────────────

function why(error: unknown): string {
  const cause = (error as { cause?: { message?: string; code?: string } }).cause;
  return cause?.message ?? cause?.code ?? (error as Error).message ?? String(error);
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new Error(`POST ${url} failed: ${why(error)}`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} → ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** GET that must answer 2xx; returns the body text and the response headers. */
export async function getText(url: string, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ text: string; headers: Headers }> {
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new Error(`GET ${url} failed: ${why(error)}`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url} → ${response.status}: ${text.slice(0, 300)}`);
  return { text, headers: response.headers };
}

/** Starts a local node:http server on an ephemeral port of 127.0.0.1. */
export async function listen(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

// ─── workers ────────────────────────────────────────────────────────────────────────────────────────────

/** Runs the wrangler CLI of node_modules (e.g. `d1 migrations apply`); throws with its output when it fails. */
export function wrangler(args: string[]): void {
  const result = spawnSync(process.execPath, [wranglerBin, ...args], {
    cwd: root,
    env: { ...process.env, WRANGLER_LOG: "info" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
}

/** A free ephemeral port on 127.0.0.1 (wrangler would otherwise default to 8787, which `npm run dev` uses). */
export async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** One line of a worker's console, as workerd reports it (`console.log` → level "log" or "info"). */
export interface WorkerLog {
  level: string;
  message: string;
}

/**
 * Starts a worker from a wrangler config in local mode (workerd), with its state persisted under `persist`.
 * With `logs`, every console line of the worker goes to it instead of wrangler's output (errors and warnings
 * are still written to stderr).
 */
export async function startWorker(
  config: string,
  persist: string,
  vars: Record<string, string> = {},
  logs?: (log: WorkerLog) => void,
): Promise<Worker> {
  const bindings = Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text" as const, value }]));
  const worker = await unstable_startWorker({
    config,
    bindings,
    dev: {
      persist,
      server: { hostname: "127.0.0.1", port: await freePort() },
      inspector: false,
      watch: false,
      logLevel: "warn",
      ...(logs
        ? {
            structuredLogsHandler: (log: WorkerLog) => {
              if (log.level === "error" || log.level === "warn") process.stderr.write(`[worker:${log.level}] ${log.message}\n`);
              logs(log);
            },
          }
        : {}),
    },
  });
  await worker.ready;
  return worker;
}

/** Applies the engine's D1 migrations to a local state directory (before the engine starts on it). */
export function migrate(persist: string): void {
  note("applying D1 migrations");
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist]);
}

/**
 * Starts the engine (root wrangler.toml) with an ADMIN_TOKEN binding; the migrations must be applied. `logs`
 * receives its console lines (see startWorker).
 */
export async function startEngine(
  persist: string,
  adminToken: string,
  logs?: (log: WorkerLog) => void,
  vars: Record<string, string> = {},
): Promise<{ worker: Worker; base: URL }> {
  note("starting the engine");
  const worker = await startWorker(join(root, "wrangler.toml"), persist, { ADMIN_TOKEN: adminToken, ALLOW_PRIVATE_CALLBACKS: "true", ...vars }, logs);
  return { worker, base: await worker.url };
}

export type ClientHeaders = { client: string; "api-key": string };

/**
 * Creates a client through `POST /admin/clients` and applies `settings` through `POST /settings`; returns its
 * `client` / `api-key` headers.
 */
export async function createClient(
  base: URL,
  adminToken: string,
  name: string,
  settings: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ClientHeaders> {
  return (await createSigningClient(base, adminToken, name, settings, timeoutMs)).auth;
}

/** createClient, also returning the client's callback signing secret (`whsec_…`, shown once at creation). */
export async function createSigningClient(
  base: URL,
  adminToken: string,
  name: string,
  settings: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ auth: ClientHeaders; signingSecret: string }> {
  const created = await postJson(new URL("/admin/clients", base).href, { name }, { authorization: `Bearer ${adminToken}` }, timeoutMs);
  const auth = { client: name, "api-key": String(created.api_key) };
  for (const [setting, value] of Object.entries(settings)) {
    await postJson(new URL("/settings", base).href, { name: setting, setting: value }, auth, timeoutMs);
  }
  return { auth, signingSecret: String(created.signing_secret) };
}

/**
 * Settings that lift a client's guards so that a bench measures the engine and not its limits: admission
 * control (max_jobs, default 2 running jobs) and the request rate limit (default 50/s, burst 100).
 */
export function liftedGuards(maxJobs: number): Record<string, string> {
  return { max_jobs: String(maxJobs), rate_limit: "100000", rate_burst: "100000" };
}

// ─── statistics and output ──────────────────────────────────────────────────────────────────────────────

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export const median = (values: number[]): number => percentile(values, 50);
export const f1 = (value: number): string => value.toFixed(1).padStart(7);
export const f2 = (value: number): string => value.toFixed(2);

// ─── one run ────────────────────────────────────────────────────────────────────────────────────────────

export interface Scope {
  /** This run's state directory, bench/.state/<name>-<pid>, fresh and removed at the end. */
  dir: string;
  /** Workers to dispose of at the end. */
  workers: Worker[];
  /** Servers to close at the end. */
  servers: Server[];
  /** Marks a figure that could not be measured: the process then exits with status 1, after printing everything. */
  fail(): void;
}

/**
 * Runs a bench's main function in a fresh state directory, then disposes of its workers, closes its servers,
 * removes the directory and exits: 0 when every figure was measured, 1 otherwise. Ctrl-C cleans up as well.
 */
export function run(name: string, main: (scope: Scope) => Promise<void>): void {
  const dir = join(stateRoot, `${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let failed = false;
  const scope: Scope = { dir, workers: [], servers: [], fail: () => void (failed = true) };
  const cleanup = async (): Promise<void> => {
    // A worker still busy with a stuck burst may take long to stop; do not wait for it forever.
    const disposed = Promise.allSettled(scope.workers.map((worker) => worker.dispose()));
    await Promise.race([disposed, new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
    for (const server of scope.servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    void cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const body = async (): Promise<void> => {
    try {
      await main(scope);
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await cleanup();
    }
  };
  body().then(
    () => process.exit(failed ? 1 : 0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}

/** One figure beside its baseline: `label  engine X unit  <baseline name> Y unit  ratio X/Y`. */
export function pairLine(label: string, engine: number, baseline: number, unit: string, baselineName = "baseline", width = 34): string {
  return `${label.padEnd(width)} engine ${f1(engine)} ${unit}  ${baselineName} ${f1(baseline)} ${unit}  ratio ${f2(engine / baseline)}`;
}

/** Milliseconds since an earlier performance.now(). */
export const since = (start: number): number => performance.now() - start;
