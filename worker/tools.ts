import { spawn, spawnSync } from "node:child_process";
import { basename } from "node:path";

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

/** How a tool ended when it did not succeed: its exit code or signal, and the last lines it wrote. */
interface ToolExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Its last lines (stderr, and stdout with `stdoutInTail`), joined by " | ". */
  tail: string;
}

/**
 * Runs one tool: not at all once `signal` has aborted (a cancel between two steps), killed when it aborts.
 * Resolves with its stdout (when `keepStdout`); rejects with the abort reason, a ToolError when it cannot start,
 * or a ToolExit when it fails. `onLine` sees each stdout line as it comes.
 */
function spawnTool(
  binary: string,
  args: string[],
  options: { signal: AbortSignal; cwd?: string; keepStdout?: boolean; stdoutInTail?: boolean; onLine?: (line: string) => void },
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(options.signal.reason);
    const child = spawn(binary, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let tail = "";
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      if (options.keepStdout) stdout += text;
      if (options.stdoutInTail) tail = (tail + text).slice(-4000);
      if (!options.onLine) return;
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) options.onLine(line);
    });
    child.stderr.on("data", (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000)));
    const abort = () => child.kill("SIGKILL");
    options.signal.addEventListener("abort", abort, { once: true });
    child.on("error", (error) => reject(new ToolError(`${basename(binary)} could not start: ${error.message}`, false)));
    child.on("close", (code, signal) => {
      options.signal.removeEventListener("abort", abort);
      if (options.signal.aborted) return reject(options.signal.reason);
      if (code === 0) return resolve(stdout);
      const exit: ToolExit = { code, signal, tail: tail.trim().split("\n").slice(-3).join(" | ") };
      reject(exit);
    });
  });
}

/** A failed tool run as a ToolError; other rejections (an abort, a start failure) as they are. */
function failure(error: unknown, describe: (exit: ToolExit) => string, retryable: (exit: ToolExit) => boolean): unknown {
  if (error === null || typeof error !== "object" || !("tail" in error)) return error;
  const exit = error as ToolExit;
  return new ToolError(describe(exit), retryable(exit));
}

/**
 * Runs ffmpeg with `-progress pipe:1` and reports how far it got (seconds of output written), so the worker
 * can send progress with its heartbeats. Killed when `signal` aborts. Rejects with the tail of stderr.
 */
export async function ffmpeg(args: string[], options: { signal: AbortSignal; onTime?: (seconds: number) => void }): Promise<void> {
  const onLine = (line: string) => {
    const match = /^out_time_us=(\d+)/.exec(line);
    if (match) options.onTime?.(Number(match[1]) / 1e6);
  };
  await spawnTool("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-progress", "pipe:1", "-y", ...args], { signal: options.signal, onLine }).catch((error: unknown) => {
    throw failure(
      error,
      (exit) => `ffmpeg exited with ${exit.code ?? exit.signal}: ${exit.tail || `signal ${exit.signal}`}`,
      (exit) => mayPass(exit.tail) || exit.signal !== null,
    );
  });
}

/** Runs a tool (shaka-packager) in `cwd`; rejects with the tail of its output. Killed when `signal` aborts. */
export async function run(binary: string, args: string[], options: { cwd: string; signal: AbortSignal }): Promise<void> {
  await spawnTool(binary, args, { ...options, stdoutInTail: true }).catch((error: unknown) => {
    throw failure(error, (exit) => `${basename(binary)} exited with ${exit.code ?? exit.signal}: ${exit.tail || `signal ${exit.signal}`}`, (exit) => exit.signal !== null);
  });
}

export interface ProbedStream {
  index: number;
  start_time?: string;
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  nb_read_frames?: string;
  nb_frames?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  duration?: string;
  bit_rate?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string }[];
}

export interface Probe {
  streams: ProbedStream[];
  format: { duration?: string; format_name?: string; size?: string; start_time?: string };
}

/** ffprobe's JSON view of a file or URL; `countFrames` decodes every frame to count them. */
export async function ffprobe(target: string, options: { signal: AbortSignal; countFrames?: boolean; decryptionKey?: string }): Promise<Probe> {
  const args = ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", ...(options.countFrames ? ["-count_frames"] : []), ...(options.decryptionKey ? ["-decryption_key", options.decryptionKey] : []), target];
  const stdout = await spawnTool("ffprobe", args, { signal: options.signal, keepStdout: true }).catch((error: unknown) => {
    throw failure(
      error,
      (exit) => `ffprobe cannot read ${target.split("/").pop()}: ${exit.tail.split(" | ").slice(-2).join(" | ") || `exit ${exit.code ?? exit.signal}`}`,
      (exit) => mayPass(exit.tail) || exit.signal !== null,
    );
  });
  try {
    return JSON.parse(stdout) as Probe;
  } catch {
    throw new ToolError("ffprobe printed no JSON", false);
  }
}

/** ffprobe with its own arguments (after `-v error`), its stdout as text. */
export async function ffprobeText(args: string[], signal: AbortSignal): Promise<string> {
  return spawnTool("ffprobe", ["-v", "error", ...args], { signal, keepStdout: true }).catch((error: unknown) => {
    throw failure(error, (exit) => `ffprobe failed: ${exit.tail.split(" | ").slice(-2).join(" | ") || `exit ${exit.code ?? exit.signal}`}`, (exit) => mayPass(exit.tail) || exit.signal !== null);
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
