import type { CallbackRule } from "../domain/client-config";
import type { Severity } from "../domain/job-events";
import type { FileRoot } from "../workflows/definition";

/** A client's callback rule as a job keeps it: the header values stay in the client configuration. */
export type JobCallbackRule = Omit<CallbackRule, "headers">;

/** What the API hands a JobCoordinator to create a job. Plain data (it crosses the RPC boundary). */
export interface JobSpec {
  jobId: string;
  client: string;
  workflow: string;
  contentId: string | null;
  /** Validated parameters with defaults filled. */
  parameters: Record<string, unknown>;
  customData: unknown;
  endpoints: string[];
  retryLimit: number;
  retryDelayMs: number;
  callbackScheduleMs: number[];
  createdAt: number;
  priority: number;
  persist: boolean;
  runAt: string | null;
  semaphoreUrl?: string | null;
  /** The parameters as submitted, secrets masked: what the job object shows. */
  submittedParameters: unknown;
  /** The client's callback rules at submission (events filter, body template), without header values. */
  callbackRules?: JobCallbackRule[];
  /** The job this one reruns. */
  rerunOf?: string;
  /** The D1 shard of the job index that lists this job: its client's (db/index-shards.ts); absent: 0. */
  indexShard?: number;
  /** The client's worker pool mapping at submission (`pools` of its configuration): pool → its own pool. */
  pools?: Record<string, string>;
  /** Lines the API adds to the job log at submission (progname `api`). */
  submissionLog: { severity: Severity; message: string }[];
}

/** What a consumer needs to run one attempt. */
export interface TaskAssignment {
  jobId: string;
  client: string;
  workflow: string;
  task: string;
  taskId: string;
  attempt: number;
  executor: string;
  input: unknown;
  timeoutMs: number;
}

/** What a remote worker's lease carries besides the assignment: when it ends unless a heartbeat extends it. */
export interface RemoteAssignment extends TaskAssignment {
  deadline: number;
  pool: string;
  /** Read-only folders of the client's storage the lease may read, by root name (besides its `output`). */
  roots: Record<string, FileRoot>;
}

export type ClaimResult = { ok: true; assignment: TaskAssignment } | { ok: false; reason: string };
