import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The reference media worker (worker/main.ts) as a real child process, with its JSON log lines collected.
 * Nothing between it and the engine is stubbed: it long-polls the engine's worker API over HTTP.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface WorkerLine {
  event: string;
  job_id?: string;
  task?: string;
  attempt?: number;
  [field: string]: unknown;
}

export class MediaWorker {
  readonly lines: WorkerLine[] = [];
  private stderr = "";
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(engineUrl: string, token: string, options: { pool?: string; concurrency?: number; graceS?: number; id?: string } = {}) {
    const args = ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", join(root, "worker", "main.ts"), "--engine", engineUrl, "--token", token];
    args.push("--pool", options.pool ?? "media", "--concurrency", String(options.concurrency ?? 1), "--grace-s", String(options.graceS ?? 5));
    if (options.id) args.push("--worker-id", options.id);
    this.child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let pending = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) this.lines.push(JSON.parse(line) as WorkerLine);
    });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  /** Everything it wrote: its log lines and its stderr (to check what it logs, or does not). */
  get output(): string {
    return `${JSON.stringify(this.lines)}\n${this.stderr}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Lines of one event (and one job, when given). */
  events(event: string, jobId?: string): WorkerLine[] {
    return this.lines.filter((line) => line.event === event && (jobId === undefined || line.job_id === jobId));
  }

  async waitFor(event: string, jobId: string | undefined, timeoutMs = 30_000): Promise<WorkerLine> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events(event, jobId)[0];
      if (found) return found;
      if (Date.now() > until) throw new Error(`worker logged no ${event}${jobId ? ` for ${jobId}` : ""} in ${timeoutMs} ms; stderr: ${this.stderr.slice(-500)}; lines: ${JSON.stringify(this.lines.slice(-5))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** SIGKILL: no drain, no report; the lease is left to expire. */
  kill(): Promise<number | null> {
    this.child.kill("SIGKILL");
    return this.exited;
  }

  /** SIGTERM and the drain; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }
}
