import fc from "fast-check";
import type { JsonSchema } from "./json-schema.ts";

/**
 * What the fuzzer knows about the running engine, kept up to date between chunks (from snapshots and from
 * the answers to valid requests). Arbitraries read it when they generate (`fromPool`), not when they are
 * built, so one set of arbitraries follows the engine's state through the whole run.
 */

export interface Credentials {
  name: string;
  keyId: string;
  apiKey: string;
}

export interface JobRef {
  id: string;
  state: string;
  failed: boolean;
  /** Made by the fuzzer's set-up (not by a fuzzed request). */
  seeded: boolean;
}

export interface FuzzContext {
  adminToken: string;
  /** A local server that answers 200 to everything: callback endpoints and semaphore URLs point at it. */
  sinkUrl: string;
  /** The fuzzed client. Its key is never revoked and its limits are restored after every accepted change. */
  main: Credentials;
  /** Another client: its job ids must answer 404 to `main`. */
  other: Credentials;
  /** Clients that mutating operator requests may change (keys revoked, configuration replaced). */
  sacrificial: { name: string; activeKeyIds: string[] }[];
  /** Keys that were revoked (must no longer authenticate). */
  revoked: Credentials[];
  ownJobs: JobRef[];
  foreignJobs: JobRef[];
  /** Callbacks of `main`'s jobs (for redeliver). */
  callbacks: { jobId: string; callbackId: string }[];
  workflows: { name: string; parameters: JsonSchema }[];
  /** The names GET /schedules lists. */
  schedules: string[];
  /** Idempotency-Keys used by accepted POST /job requests, with their bodies. */
  idempotency: { key: string; body: string }[];
  /** `cursor` values from Link headers of GET /jobs. */
  cursors: string[];
}

/** The setting names of README "Settings" (the document types `name` as a string only). */
export const SETTING_NAMES = [
  "max_jobs",
  "priority_slots",
  "priority_threshold",
  "schedule_interval",
  "retry_delay",
  "retry_limit",
  "callback_retry_schedule",
  "retention_days",
  "rate_limit",
  "rate_burst",
] as const;

/** An element of a pool read at generation time, or `fallback` while the pool is empty. */
export function fromPool<T>(pool: () => readonly T[], fallback: T): fc.Arbitrary<T> {
  return fc.constant(null).chain(() => {
    const items = pool();
    return items.length > 0 ? fc.constantFrom(...items) : fc.constant(fallback);
  });
}
