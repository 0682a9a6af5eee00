/** What a worker executor gets and gives back (the worker-side twin of src/executors/executor.ts). */

export interface WorkContext {
  /** The lease's attempt number. */
  attempt: number;
  /** A folder of this lease only, removed when the lease ends. */
  scratch: string;
  /** Aborted when the engine says cancel, the lease is lost, or the worker stops. */
  signal: AbortSignal;
  /** Progress 0-100 and the phase, sent with the next heartbeat. */
  progress: (percent: number, phase?: string) => void;
  /** Downloads a file of the lease's `source` root (a folder of the client's storage) to a local path. */
  download: (path: string, local: string) => Promise<void>;
}

/** A file the executor made and checked, to upload to the job's work folder under `name`. */
export interface MadeFile {
  local: string;
  name: string;
  contentType: string;
}

export interface WorkResult {
  output: Record<string, unknown>;
  files: MadeFile[];
  /**
   * Whether the report lists the files (default true). A package of thousands of segments is not listed: the
   * engine's publish step takes every file of the attempt's folder.
   */
  listFiles?: boolean;
}

export type WorkerExecutor = (input: unknown, ctx: WorkContext) => Promise<WorkResult>;

/** A failure a retry will not fix (bad input, a source without video): reported with `retryable: false`. */
export class PermanentError extends Error {}
