import type { KeyProvider } from "../domain/client-config";
import type { StorageLocation } from "../storage/location";

/** What an executor gets besides its input. */
export interface ExecutorContext {
  jobId: string;
  client: string;
  taskName: string;
  attempt: number;
  /** Aborted when the attempt's timeout passes. */
  signal: AbortSignal;
  /** Adds a line to the job log. */
  log: (message: string) => void;
  /** Reports progress 0-100 (best effort). */
  progress: (percent: number) => void;
  /**
   * The job's client's storage location by name (`S3`, `azure_blob`, `local`, `R2`), from its configuration.
   * It hands out only the roots configured for the client (`location.root(key)`), never the raw driver.
   */
  storage: (name: string) => Promise<StorageLocation>;
  /** The job's work folder in the engine's own bucket, where remote workers leave their files (storage/work-folder.ts). */
  work: WorkFolder;
  /** What fetching DRM keys needs: the client's key provider and the sealing of keys for this job's leases. */
  drm: DrmAccess;
}

export interface DrmAccess {
  /** The client's key provider from its configuration, or null when it has none. */
  provider(): Promise<KeyProvider | null>;
  /** Whether the deployment can seal keys (it has a DRM_KEY_SECRET). */
  canSeal: boolean;
  /** Seals a value for this job's worker leases (domain/key-seal.ts); throws when the deployment cannot. */
  seal(value: unknown): Promise<string>;
  /** Whether a key server may be on localhost or a private network (development only). */
  allowPrivateUrls: boolean;
  fetch: typeof fetch;
}

export interface WorkFolder {
  /** A file (its size, the content type it was uploaded with, its bytes on demand), or null when there is none. */
  get(path: string): Promise<{ size: number; contentType: string | null; bytes(): Promise<ArrayBuffer> } | null>;
  /** The files below a folder of the work folder, paths relative to it. */
  list(folder: string): Promise<{ path: string; size: number }[]>;
  /** Deletes every file of the job's work folder. */
  clear(): Promise<void>;
}

/** Runs one attempt of a task: resolves with its output or throws (see errors.ts). */
export type Executor = (input: unknown, ctx: ExecutorContext) => Promise<unknown>;
