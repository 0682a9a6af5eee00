import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { wranglerBin, root, wranglerEnv } from "./paths.ts";

/**
 * The engine as `wrangler dev` in a child process of its own process group (wrangler and the workerd it
 * starts), so that a kill takes the whole runtime down at once, as a crash would: SIGKILL, no shutdown.
 * Every start uses the same build, state directory and port. The worker's output goes to a log file; the queue
 * faults it reports are counted.
 */

export interface EngineProcessOptions {
  /** The persisted state (D1, Durable Objects, R2); the migrations must be applied. */
  persistTo: string;
  port: number;
  /** `--var` bindings (ADMIN_TOKEN, leases, FAULTS…). */
  vars: Record<string, string>;
  /** The engine's config, running a bundle built once (state.ts `buildEngine`). */
  config: string;
  /** Where the runtime's output goes (appended across restarts). */
  logFile: string;
}

/** Fault lines the worker logs (src/faults/faulty-queue.ts), by kind. */
export interface FaultCounts {
  drop: number;
  duplicate: number;
}

const READY_TIMEOUT_MS = 90_000;

/** Process groups still running. Detached, they would outlive this process: killed when it exits (a crash, Ctrl-C). */
const liveGroups = new Set<number>();
process.on("exit", () => {
  for (const pid of liveGroups) killGroup(pid);
});

export class EngineProcess {
  readonly faults: FaultCounts = { drop: 0, duplicate: 0 };
  /** SIGKILLs sent so far. */
  kills = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly log: WriteStream;
  private readonly options: EngineProcessOptions;

  constructor(options: EngineProcessOptions) {
    this.options = options;
    this.log = createWriteStream(options.logFile, { flags: "a" });
  }

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts `wrangler dev` and waits until the API answers `GET /`. */
  async start(): Promise<void> {
    if (this.child) throw new Error("the engine is already running");
    const { config, persistTo, port, vars } = this.options;
    const args = [wranglerBin, "dev", "--config", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()), "--persist-to", persistTo];
    for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
    this.log.write(`\n=== start ${new Date().toISOString()}\n`);
    // detached: a process group of its own (its id is the child's pid), so one signal reaches workerd too.
    const child = spawn(process.execPath, args, { cwd: root, env: wranglerEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    if (child.pid) liveGroups.add(child.pid);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on("line", (line) => this.onLine(line));
    }
    await this.waitReady(child);
  }

  /** SIGKILL to the whole process group: the runtime stops mid-flight, its queue messages in memory are lost. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    this.child = null;
    this.kills++;
    this.log.write(`=== SIGKILL ${new Date().toISOString()}\n`);
    killGroup(child.pid);
    await this.exited;
    await waitPortFree(this.options.port);
  }

  /** Stops the runtime for good (at the end of the drill, or when it fails); calling it again does nothing. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child?.pid) {
      killGroup(child.pid);
      await this.exited;
    }
    if (!this.log.writableEnded) await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }

  private onLine(line: string): void {
    this.log.write(`${line}\n`);
    if (!line.includes("queue fault injected")) return;
    if (line.includes('"fault":"drop"')) this.faults.drop++;
    else if (line.includes('"fault":"duplicate"')) this.faults.duplicate++;
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}); see ${this.options.logFile}`);
      try {
        const response = await fetch(`${this.url}/`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok && ((await response.json()) as { result?: string }).result === "alive") return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`wrangler dev did not answer within ${READY_TIMEOUT_MS} ms; see ${this.options.logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function killGroup(pid: number): void {
  liveGroups.delete(pid);
  try {
    process.kill(-pid, "SIGKILL");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** A free ephemeral port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Waits until nothing listens on the port any more (the killed runtime's sockets are closed). */
async function waitPortFree(port: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (free) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`port ${port} still in use after the kill`);
}
