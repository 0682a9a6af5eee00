/**
 * The admission protocol between a job's coordinator and its client's scheduler, in one place so that
 * neither imports the other: the coordinator tells the scheduler where its job stands (`sync`), the
 * scheduler tells the coordinator when to start (`admit`) or that a scheduled job is due (`markQueued`).
 * Each side reaches the other through the lookup here, typed by the interface here.
 */
import type { CostLedger } from "../domain/cost";
import type { SchedulerConfig } from "../scheduler/scheduler-config";

/** What a caller adds to the job's cost ledger with a request (its share of an invocation, rows it wrote). */
export type CallerCost = Partial<CostLedger>;

/** What a job's coordinator wants admission control to know about it. */
export type SchedulerSync =
  | { jobId: string; generation: number; kind: "waiting"; priority: number; submittedAt: number; runAt: number | null; semaphoreUrl: string | null }
  | { jobId: string; generation: number; kind: "gone" };

/**
 * The scheduler's answer to a sync: the rows it wrote for the job (charged to it), and `start` when the job
 * holds a slot in the round it synced: the coordinator starts that round itself, without waiting for an
 * `admit` (one round trip less per job). A repeated sync of a started round answers `start` again, so a
 * coordinator that died before acting on the answer starts on its next sync.
 */
export interface SyncAnswer {
  rowsWritten: number;
  start?: number;
}

/** The scheduler as a coordinator sees it. */
export interface AdmissionControl {
  /** Applies the job's state (see SyncAnswer). `config` rides along when it changed. */
  sync(sync: SchedulerSync, config?: SchedulerConfig): Promise<SyncAnswer>;
}

/** A coordinator as its scheduler sees it. */
export interface AdmissionTarget {
  /** Start round `generation` of the job; "stale" when the job has moved on. `cost` is the scheduler's share. */
  admit(generation: number, cost?: CallerCost): Promise<"started" | "stale">;
  /** A scheduled job's run_at passed or its semaphore opened. */
  markQueued(generation: number): Promise<void>;
}

/** The admission control of `client` (one Durable Object per client, named by the client). */
export function admissionControlFor(namespace: Env["CLIENT_SCHEDULER"], client: string): AdmissionControl {
  return namespace.get(namespace.idFromName(client)) as unknown as AdmissionControl;
}

/** The coordinator of `jobId`, as admission control reaches it. */
export function admissionTargetFor(namespace: Env["JOB_COORDINATOR"], jobId: string): AdmissionTarget {
  return namespace.get(namespace.idFromName(jobId)) as unknown as AdmissionTarget;
}
