import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { unstable_startWorker } from "wrangler";

/**
 * End-to-end harness: the real worker (wrangler.toml, src/index.ts) started from Node with wrangler's
 * `unstable_startWorker`, on its own port and its own persisted state directory, spoken to over real HTTP.
 */

const execFileAsync = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// `wrangler/bin/wrangler.js` is not in the package's exports; its package.json is.
const wranglerPackage = createRequire(import.meta.url).resolve("wrangler/package.json");
const wranglerBin = join(dirname(wranglerPackage), "bin", "wrangler.js");
const wranglerEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

// Keep wrangler's own chatter (banners, binding tables) out of the test output; errors still show.
process.env.WRANGLER_LOG ??= "error";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
process.env.WRANGLER_SEND_METRICS = "false";

type StartedWorker = Awaited<ReturnType<typeof unstable_startWorker>>;

export interface EngineOptions {
  /** Names the state directory (one per test file). */
  name: string;
  /** Vars over wrangler.toml's (e.g. short leases so the watchdog acts in seconds). */
  vars?: Record<string, string>;
  /** Keep the first start's port across restarts (a remote worker polls one URL). */
  keepPort?: boolean;
}

/** A client's credentials, as the API's `client` and `api-key` headers. */
export interface Client {
  name: string;
  keyId: string;
  headers: { client: string; "api-key": string };
  /** The `whsec_` secret that signs the client's callbacks (shown once, at creation). */
  signingSecret: string;
}

/** One attempt of a callback in `GET /jobs/{id}/callbacks`. */
export interface CallbackAttempt {
  attempt: number;
  attempted_at: string;
  status: number | null;
  duration_ms: number;
  error: string | null;
}

/** One callback (one endpoint, one event) in `GET /jobs/{id}/callbacks`. */
export interface CallbackLogEntry {
  callback_id: string;
  endpoint: string;
  event: string;
  sequence: number;
  state: "pending" | "in_flight" | "delivered" | "failed";
  next_attempt_at: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  attempts: CallbackAttempt[];
}

/** One line the worker wrote to its console (console.log / warn / error). */
export interface WorkerLog {
  level: string;
  message: string;
}

export interface Accepted {
  id: string;
  job_id: string;
  result: string;
  queue_state: string;
}

export interface TaskObject {
  task_id: string;
  task_name: string;
  state: string;
  attempts: number;
  started_at: string | null;
  ended_at: string | null;
  message: string;
  progress: number;
}

export interface JobObject {
  id: string;
  client: string;
  workflow: string;
  priority: number;
  queue_state: string;
  failed: boolean;
  progress: number;
  parameters: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  tasks: TaskObject[];
  result: Record<string, unknown> | null;
}

export interface LogLine {
  id: number;
  job_id: string;
  task_id: string | null;
  severity: number;
  severity_description: string;
  progname: string;
  message: string;
  created_at: string;
  updated_at: string;
  visible: boolean;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

const stateRoot = join(root, ".e2e-state");

/** Applies the D1 migrations to a persisted state directory, as `npm run dev` does (`wrangler d1 migrations apply`). */
async function applyMigrations(persistTo: string): Promise<void> {
  await execFileAsync(process.execPath, [wranglerBin, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
    cwd: root,
    env: wranglerEnv,
    timeout: 60_000,
  });
}

/**
 * A state directory with the migrations applied and nothing else, made once per set of migrations and
 * wrangler version (`wrangler d1 migrations apply` takes seconds; copying the result takes milliseconds).
 */
async function migratedTemplate(): Promise<string> {
  const migrationsDir = join(root, "migrations");
  const hash = createHash("sha256");
  hash.update(JSON.parse(readFileSync(wranglerPackage, "utf8")).version as string);
  for (const file of readdirSync(migrationsDir).sort()) hash.update(file).update(readFileSync(join(migrationsDir, file)));
  const name = `template-${hash.digest("hex").slice(0, 16)}`;
  const template = join(stateRoot, name);
  if (existsSync(join(template, ".ready"))) return template;
  const building = `${template}.${process.pid}.${randomBytes(4).toString("hex")}`;
  mkdirSync(building, { recursive: true });
  try {
    await applyMigrations(building);
    writeFileSync(join(building, ".ready"), new Date().toISOString());
    for (const old of readdirSync(stateRoot)) {
      if (/^template-[0-9a-f]{16}$/.test(old) && old !== name) rmSync(join(stateRoot, old), { recursive: true, force: true });
    }
    renameSync(building, template);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    // Another run may have built the same template meanwhile.
    if (!existsSync(join(template, ".ready"))) throw error;
  }
  return template;
}

/** Deletes state directories left by e2e runs whose process is gone (a crashed or interrupted run). */
function removeStaleStates(): void {
  if (!existsSync(stateRoot)) return;
  for (const entry of readdirSync(stateRoot)) {
    const match = /-(\d+)-[0-9a-f]{8}$/.exec(entry) ?? /^template-[0-9a-f]{16}\.(\d+)\.[0-9a-f]{8}$/.exec(entry);
    if (match && !processAlive(Number(match[1]))) rmSync(join(stateRoot, entry), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class Engine {
  readonly adminToken = `adm_e2e_${randomBytes(18).toString("base64url")}`;
  /** Everything the worker wrote to its console, across restarts (to check what it logs, or does not). */
  readonly workerLogs: WorkerLog[] = [];
  private worker: StartedWorker | null = null;
  private baseUrl: string | null = null;
  private port: number | null = null;

  private constructor(
    private readonly options: EngineOptions,
    /** The persisted state (D1, Durable Objects, queues, R2) of this engine; survives restart(). */
    readonly persistTo: string,
  ) {}

  /** Makes a fresh state directory with the D1 migrations applied and starts the worker on it. */
  static async start(options: EngineOptions): Promise<Engine> {
    mkdirSync(stateRoot, { recursive: true });
    removeStaleStates();
    const persistTo = join(stateRoot, `${options.name}-${process.pid}-${randomBytes(4).toString("hex")}`);
    cpSync(await migratedTemplate(), persistTo, { recursive: true });
    const engine = new Engine(options, persistTo);
    await engine.boot();
    return engine;
  }

  /** The API's base URL (changes on restart, each start taking a free port, unless `keepPort`). */
  get url(): string {
    if (!this.baseUrl) throw new Error("the engine is not running");
    return this.baseUrl;
  }

  get running(): boolean {
    return this.worker !== null;
  }

  /** Stops the runtime (workerd); the persisted state stays. Queue messages in flight are lost. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.baseUrl = null;
    if (worker) await worker.dispose();
  }

  /** Stops the runtime and starts it again on the same persisted state. */
  async restart(): Promise<void> {
    await this.stop();
    await this.boot();
  }

  /** Stops the runtime and deletes its state. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.persistTo, { recursive: true, force: true });
  }

  /** A new client with its first API key, made through the operator API. */
  async createClient(name = `e2e-${randomBytes(4).toString("hex")}`): Promise<Client> {
    const response = await this.request<{ client: string; key_id: string; api_key: string; signing_secret: string }>("POST", "/admin/clients", {
      headers: { authorization: `Bearer ${this.adminToken}` },
      body: { name },
    });
    if (response.status !== 201) throw new Error(`POST /admin/clients answered ${response.status}: ${JSON.stringify(response.body)}`);
    return {
      name: response.body.client,
      keyId: response.body.key_id,
      headers: { client: response.body.client, "api-key": response.body.api_key },
      signingSecret: response.body.signing_secret,
    };
  }

  /** One request to the operator API (`/admin/...`) with the admin token. */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.request<T>(method, path, { headers: { authorization: `Bearer ${this.adminToken}` }, body });
  }

  /** `GET /jobs/{id}/callbacks`: the job's callback delivery log. */
  async getCallbacks(client: Client, id: string): Promise<CallbackLogEntry[]> {
    const response = await this.request<CallbackLogEntry[]>("GET", `/jobs/${encodeURIComponent(id)}/callbacks`, { headers: client.headers });
    if (response.status !== 200) throw new Error(`GET /jobs/${id}/callbacks answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  /** Polls `GET /jobs/{id}/callbacks` until `until` holds over the delivery log. */
  async waitForCallbacks(
    client: Client,
    id: string,
    until: (log: CallbackLogEntry[]) => boolean,
    timeoutMs = 30_000,
    what = "the delivery log",
  ): Promise<CallbackLogEntry[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const log = await this.getCallbacks(client, id);
      if (until(log)) return log;
      if (Date.now() > deadline) throw new Error(`${what} of job ${id} not reached within ${timeoutMs} ms; last seen: ${JSON.stringify(log, null, 1)}`);
      await sleep(100);
    }
  }

  /** `POST /settings` for the client; throws unless it answers 200. */
  async setSetting(client: Client, name: string, setting: string): Promise<void> {
    const response = await this.request("POST", "/settings", { headers: client.headers, body: { name, setting } });
    if (response.status !== 200) throw new Error(`POST /settings ${name} answered ${response.status}: ${JSON.stringify(response.body)}`);
  }

  /** `POST /job`; throws unless it answers 202. */
  async submit(client: Client, workflow: string, parameters: Record<string, unknown>): Promise<Accepted> {
    const response = await this.request<Accepted>("POST", "/job", { headers: client.headers, body: { job: { workflow }, parameters } });
    if (response.status !== 202) throw new Error(`POST /job answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  async getJob(client: Client, id: string): Promise<JobObject> {
    const response = await this.request<JobObject>("GET", `/jobs/${encodeURIComponent(id)}`, { headers: client.headers });
    if (response.status !== 200) throw new Error(`GET /jobs/${id} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  async getLogs(client: Client, id: string): Promise<LogLine[]> {
    const response = await this.request<LogLine[]>("GET", `/logs/${encodeURIComponent(id)}`, { headers: client.headers });
    if (response.status !== 200) throw new Error(`GET /logs/${id} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  /** Polls `GET /jobs/{id}` until the job reached `queue_state: completed` (or `until` holds). */
  async waitForJob(client: Client, id: string, timeoutMs = 30_000, until: (job: JobObject) => boolean = isEnded): Promise<JobObject> {
    const deadline = Date.now() + timeoutMs;
    let last: JobObject | null = null;
    for (;;) {
      last = await this.getJob(client, id);
      if (until(last)) return last;
      if (Date.now() > deadline) {
        throw new Error(`job ${id} not done within ${timeoutMs} ms; last seen: ${JSON.stringify({ ...last, parameters: undefined })}`);
      }
      await sleep(50);
    }
  }

  /** One HTTP request to the API; the body is parsed as JSON. */
  async request<T = unknown>(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(new URL(path, this.url), {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text === "" ? null : JSON.parse(text)) as T };
  }

  private async boot(): Promise<void> {
    // The receivers listen on 127.0.0.1: the tests run with the development setting that allows it.
    const vars = { ADMIN_TOKEN: this.adminToken, ALLOW_PRIVATE_CALLBACKS: "true", ...this.options.vars };
    const worker = await unstable_startWorker({
      config: join(root, "wrangler.toml"),
      bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value }])),
      dev: {
        server: { hostname: "127.0.0.1", port: this.options.keepPort && this.port !== null ? this.port : 0 },
        inspector: false,
        persist: this.persistTo,
        watch: false,
        liveReload: false,
        // The worker's console output; shown with E2E_WORKER_LOGS=1 (errors are always shown).
        structuredLogsHandler: (log: { level: string; message: string }) => {
          this.workerLogs.push({ level: log.level, message: log.message });
          if (process.env.E2E_WORKER_LOGS === "1" || log.level === "error") process.stderr.write(`[worker:${log.level}] ${log.message}\n`);
        },
      },
    });
    try {
      await worker.ready;
      const url = await worker.url;
      this.worker = worker;
      this.baseUrl = url.origin;
      this.port = Number(url.port);
      const alive = await this.request<{ result: string }>("GET", "/");
      if (alive.status !== 200 || alive.body.result !== "alive") throw new Error(`GET / answered ${alive.status}`);
    } catch (error) {
      this.worker = null;
      this.baseUrl = null;
      await worker.dispose();
      throw error;
    }
  }
}

export function isEnded(job: JobObject): boolean {
  return job.queue_state === "completed";
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
