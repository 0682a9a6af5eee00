/** What the worker API asks of a job's coordinator on a lease, and what it answers (workers.md). Plain data. */
import type { FileRoot } from "../workflows/definition";

/** The pool token a worker call came with: its pool, and the client it is scoped to (null: any). */
export interface WorkerCaller {
  pool: string;
  client: string | null;
}

/** What a worker does on its lease (WorkerCall) and what the coordinator answers (WorkerAnswer). */
export type WorkerCall =
  | { type: "heartbeat"; progress?: number; phase?: string }
  | { type: "complete"; output: unknown }
  | { type: "fail"; error: string; retryable: boolean }
  /** The file API checks the lease before a transfer. */
  | { type: "look" };
export type WorkerAnswer =
  | { status: "ok"; cancel: boolean; deadline: number | null; client?: string; roots?: Record<string, FileRoot> }
  | { status: "conflict"; message: string }
  | { status: "unknown" };
