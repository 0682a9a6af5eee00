import { spawn, spawnSync } from "node:child_process";

/** The binaries media executors run; the worker refuses to start without them, saying which is missing. */
export const REQUIRED_BINARIES = ["ffmpeg", "ffprobe"] as const;

export function missingBinaries(): string[] {
  return REQUIRED_BINARIES.filter((binary) => spawnSync(binary, ["-version"], { stdio: "ignore" }).error !== undefined);
}

export class ToolError extends Error {
  /** A retry might help (a network read failed) or not (the input cannot be decoded). */
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.retryable = retryable;
  }
}

/**
 * Runs ffmpeg with `-progress pipe:1` and reports how far it got (seconds of output written), so the worker
 * can send progress with its heartbeats. Killed when `signal` aborts. Rejects with the tail of stderr.
 */
export function ffmpeg(args: string[], options: { signal: AbortSignal; onTime?: (seconds: number) => void }): Promise<void> {
  return new Promise((resolve, reject) => {
    // A cancel that came between two steps: the next one does not start.
    if (options.signal.aborted) return reject(options.signal.reason);
    const child = spawn("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-progress", "pipe:1", "-y", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const match = /^out_time_us=(\d+)/.exec(line);
        if (match) options.onTime?.(Number(match[1]) / 1e6);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const abort = () => child.kill("SIGKILL");
    options.signal.addEventListener("abort", abort, { once: true });
    child.on("error", (error) => reject(new ToolError(`ffmpeg could not start: ${error.message}`, false)));
    child.on("close", (code, signal) => {
      options.signal.removeEventListener("abort", abort);
      if (options.signal.aborted) return reject(options.signal.reason);
      if (code === 0) return resolve();
      const reason = stderr.trim().split("\n").slice(-3).join(" | ") || `signal ${signal}`;
      reject(new ToolError(`ffmpeg exited with ${code ?? signal}: ${reason}`, mayPass(reason) || signal !== null));
    });
  });
}

/** Runs a tool (shaka-packager) in `cwd`; rejects with the tail of its output. Killed when `signal` aborts. */
export function run(binary: string, args: string[], options: { cwd: string; signal: AbortSignal }): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(options.signal.reason);
    const child = spawn(binary, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const abort = () => child.kill("SIGKILL");
    options.signal.addEventListener("abort", abort, { once: true });
    child.on("error", (error) => reject(new ToolError(`${binary.split("/").pop()} could not start: ${error.message}`, false)));
    child.on("close", (code, signal) => {
      options.signal.removeEventListener("abort", abort);
      if (options.signal.aborted) return reject(options.signal.reason);
      if (code === 0) return resolve();
      const reason = output.trim().split("\n").slice(-3).join(" | ") || `signal ${signal}`;
      reject(new ToolError(`${binary.split("/").pop()} exited with ${code ?? signal}: ${reason}`, signal !== null));
    });
  });
}

export interface ProbedStream {
  index: number;
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  nb_read_frames?: string;
  nb_frames?: string;
  r_frame_rate?: string;
  bit_rate?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
}

export interface Probe {
  streams: ProbedStream[];
  format: { duration?: string; format_name?: string; size?: string };
}

/** ffprobe's JSON view of a file or URL; `countFrames` decodes every frame to count them. */
export function ffprobe(target: string, options: { signal: AbortSignal; countFrames?: boolean }): Promise<Probe> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(options.signal.reason);
    const args = ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", ...(options.countFrames ? ["-count_frames"] : []), target];
    const child = spawn("ffprobe", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const abort = () => child.kill("SIGKILL");
    options.signal.addEventListener("abort", abort, { once: true });
    child.on("error", (error) => reject(new ToolError(`ffprobe could not start: ${error.message}`, false)));
    child.on("close", (code, signal) => {
      options.signal.removeEventListener("abort", abort);
      if (options.signal.aborted) return reject(options.signal.reason);
      if (code !== 0) {
        const reason = stderr.trim().split("\n").slice(-2).join(" | ") || `exit ${code ?? signal}`;
        return reject(new ToolError(`ffprobe cannot read ${target.split("/").pop()}: ${reason}`, mayPass(reason) || signal !== null));
      }
      try {
        resolve(JSON.parse(stdout) as Probe);
      } catch {
        reject(new ToolError("ffprobe printed no JSON", false));
      }
    });
  });
}

/**
 * Whether a failure may pass on a later attempt: the network (refused or reset connections, timeouts, DNS, a
 * 5xx from the origin). A 4xx, a source that cannot be decoded or a bad argument will fail again. A process
 * killed by a signal (the system ran out of memory, say) is retried too.
 */
export function mayPass(stderr: string): boolean {
  return /Connection (refused|reset|timed out)|timed out|I\/O error|Temporary failure in name resolution|Server returned 5\d\d|HTTP error 5\d\d|Network is unreachable|End of file/i.test(stderr);
}

/** The first video stream of a probe, or a failure saying the output (or source) has none. */
export function videoStream(probe: Probe, what: string): ProbedStream {
  const stream = probe.streams.find((candidate) => candidate.codec_type === "video");
  if (!stream || !stream.width || !stream.height) throw new ToolError(`${what} has no video stream`, false);
  return stream;
}
