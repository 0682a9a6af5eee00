import { ulid } from "ulidx";
import type { JobSpec } from "../coordinator/job-spec";
import { coordinatorFor } from "../coordinator/stub";
import type { ClientSnapshot } from "../db/clients";
import { callbackBody } from "../domain/callback-body";
import { MAX_CALLBACK_BODY_BYTES, templateOverflows } from "../domain/callback-size";
import { parseClientConfig, ruleFor } from "../domain/client-config";
import { MAX_ERROR_CHARS } from "../domain/errors";
import { validationError } from "./errors";
import type { Severity } from "../domain/job-events";
import type { QueueState } from "../domain/job-management";
import { resolveSettings } from "../domain/settings";
import type { CallerCost } from "../protocol/admission";
import { schedulerConfigOf, type SchedulerConfig } from "../scheduler/scheduler-config";

/** A job to create, after validation (POST /job) or copied from another job (rerun). */
export interface NewJob {
  client: string;
  workflow: string;
  contentId: string | null;
  /** Validated parameters with defaults. */
  parameters: Record<string, unknown>;
  /** As submitted, secrets masked: what the job object shows. */
  submittedParameters: unknown;
  endpoints: string[];
  priority: number;
  persist: boolean;
  /** ms, or null for now. */
  runAt: number | null;
  semaphoreUrl: string | null;
  submissionLog: { severity: Severity; message: string }[];
  rerunOf?: string;
  /** The id to use (an idempotent submission reserves it first); a new one otherwise. */
  id?: string;
}

/** A job ready to hand to its coordinator: its spec and the admission settings of its client. */
export interface PreparedJob {
  spec: JobSpec;
  scheduler: SchedulerConfig;
}

/**
 * Prepares a job: takes the client's settings and callback rules from `snapshot` (as the API knows them, at
 * most 10 s old: client-cache.ts), and refuses (400) a job whose callbacks would pass the size limit.
 * Nothing is stored yet.
 */
export function prepareJob(job: NewJob, snapshot: ClientSnapshot, now = Date.now()): PreparedJob {
  const settings = resolveSettings(snapshot.settings);
  const config = parseClientConfig(snapshot.config);
  const spec: JobSpec = {
    jobId: job.id ?? ulid(now),
    client: job.client,
    workflow: job.workflow,
    contentId: job.contentId,
    parameters: job.parameters,
    customData: job.parameters.custom_data ?? null,
    endpoints: job.endpoints,
    retryLimit: settings.retry_limit,
    retryDelayMs: Math.round(settings.retry_delay * 1000),
    callbackScheduleMs: settings.callback_retry_schedule.map((seconds) => Math.round(seconds * 1000)),
    createdAt: now,
    priority: job.priority,
    persist: job.persist,
    runAt: job.runAt === null ? null : new Date(job.runAt).toISOString(),
    semaphoreUrl: job.semaphoreUrl,
    submittedParameters: job.submittedParameters,
    submissionLog: job.submissionLog,
    // Header values stay in the client configuration; the job keeps the events filter and body template.
    callbackRules: config.callback_rules.map(({ headers: _secret, ...rule }) => rule),
    ...(config.pools && Object.keys(config.pools).length > 0 ? { pools: config.pools } : {}),
    rerunOf: job.rerunOf,
    ...(snapshot.indexShard !== 0 ? { indexShard: snapshot.indexShard } : {}),
  };
  refuseOversizedCallbacks(spec);
  return { spec, scheduler: schedulerConfigOf(snapshot) };
}

/**
 * Hands a prepared job to a new coordinator, which stores it, writes its D1 rows and enters it into the
 * client's admission control. `created` is false when that coordinator already had the job (a repeat).
 */
export async function createPrepared(env: Env, { spec, scheduler }: PreparedJob, cost: CallerCost = {}): Promise<{ id: string; queueState: QueueState; created: boolean }> {
  // A repeat answers with the job as it is now (an idempotent replay reports its current state).
  const { created, queueState } = await coordinatorFor(env.JOB_COORDINATOR, spec.jobId).create(spec, scheduler, cost);
  return { id: spec.jobId, queueState, created };
}

/** Prepares and creates a job (POST /job); the request's cost so far is charged to the job. */
export async function createJob(
  env: Env,
  job: NewJob,
  { snapshot, now = Date.now(), cost = {} }: { snapshot: ClientSnapshot; now?: number; cost?: CallerCost },
): Promise<{ id: string; queueState: QueueState; created: boolean }> {
  return createPrepared(env, prepareJob(job, snapshot, now), cost);
}

/** 400 when a callback rule's body template would make this job's callbacks larger than the limit. */
function refuseOversizedCallbacks(spec: JobSpec): void {
  const identity = { jobId: spec.jobId, client: spec.client, workflow: spec.workflow, contentId: spec.contentId };
  // The longest message a callback may carry (an error text), so {{message}} copies are counted in full.
  const message = "x".repeat(MAX_ERROR_CHARS);
  const sample = callbackBody(identity, { kind: "job", sequence: 1, status: "failed", message, time: spec.createdAt }, spec.customData, {});
  const overflows = templateOverflows(spec.endpoints, (endpoint) => ruleFor(endpoint, spec.callbackRules ?? [])?.body_template, sample);
  if (overflows.length === 0) return;
  throw validationError(
    overflows.map(({ index, bytes }) => ({
      path: `parameters.rest_endpoints[${index}]`,
      message: `the callback body template configured for this endpoint would make callbacks of over ${bytes.toLocaleString("en")} bytes with this job's fields (such as custom_data), over the ${MAX_CALLBACK_BODY_BYTES / 1024 / 1024} MiB limit`,
    })),
  );
}
