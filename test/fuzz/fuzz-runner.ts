import fc from "fast-check";
import type { Engine, WorkerLog } from "../e2e/harness.ts";
import type { FuzzRequest, FuzzResponse } from "./fuzz-request.ts";
import { FuzzStats } from "./fuzz-stats.ts";
import { HttpClient, mapConcurrently } from "./http-client.ts";
import type { JsonSchema } from "./json-schema.ts";
import { Learner, storedSecrets } from "./learner.ts";
import { operationsOf, type OpenApiDocument } from "./openapi-operations.ts";
import { operationArbitraries, type OperationArbitraries } from "./request-generator.ts";
import { checkResponse } from "./response-checks.ts";
import { schemaMisfit } from "./schema-check.ts";
import { SecretRegistry } from "./secrets.ts";
import { seed } from "./seed.ts";
import { Sink } from "./sink.ts";
import { diffSnapshots } from "./state-snapshot.ts";
import { afresh, canary, describeSnapshot, investigate } from "./state-verdicts.ts";

/**
 * The fuzz: requests for every operation of the served /openapi.json, in chunks. A chunk is either valid
 * requests (they may change the state; afterwards the fuzzed client's conditions are restored) or mutated
 * ones (meant to be refused): the state is snapshot before and after such a chunk and must be identical
 * when every request that could change it was refused. A chunk in which a mutated request was accepted
 * cannot be compared; it is counted and the state taken afresh.
 */

/** Every this many valid chunks, the queued fuzzed jobs run to their end (EngineDriver.drain). */
const DRAIN_EVERY = 8;

export interface FuzzOptions {
  requests: number;
  seed: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Requests per chunk (one state comparison each). */
  chunkSize: number;
  /** Share of chunks made of valid requests. */
  validShare: number;
  timeLimitMs: number;
  progress?: (line: string) => void;
}

export interface FuzzResult {
  stats: FuzzStats;
  seed: number;
  durationMs: number;
  stoppedByTime: boolean;
  /** Problems of the document met while generating (e.g. a pattern no string matches). */
  problems: string[];
  /** The fuzzer's own requests (snapshots, restores, replays). */
  driverRequests: number;
  operations: string[];
  /** Replaces the run's secrets in text (for printing requests). */
  hide: (text: string) => string;
  /** The self-check: an accepted change (a waiting job's priority) shows in every part of the snapshots. */
  snapshotSeesChanges: boolean;
  /** What the worker logged at level error meanwhile (queue consumers and coordinators included). */
  workerErrors: string[];
  /** Worker log lines (all levels) and callbacks the sink received: searched for secrets. */
  workerLogLines: number;
  callbacksReceived: number;
  /** What one state snapshot holds (the last baseline), in words. */
  compared: string;
}

export async function runFuzz(engine: Engine, options: FuzzOptions): Promise<FuzzResult> {
  const sink = await Sink.start();
  const http = new HttpClient(engine.url, options.concurrency + 8);
  const secrets = new SecretRegistry();
  const started = Date.now();
  try {
    const logsBefore = engine.workerLogs.length;
    const driver = await seed(engine, http, sink.url, secrets);
    const doc = (await driver.call<OpenApiDocument>("GET", "/openapi.json", {})).body;
    const ops = operationsOf(doc);
    const problems: string[] = [];
    const arbitraries = operationArbitraries(doc, ops, driver.ctx, problems);
    const documented = new Map(ops.map((op) => [op.key, op.statuses]));
    const responseSchemas = new Map(ops.map((op) => [op.key, op.responseSchemas]));
    const stats = new FuzzStats();
    const learn = new Learner(driver, secrets);
    const hide = (text: string) => secrets.hide(text);
    const random = mulberry32(options.seed);
    const fuzzStarted = Date.now();
    let baseline = await driver.snapshot();
    let stoppedByTime = false;

    for (let chunk = 0; stats.sent < options.requests; chunk++) {
      if (Date.now() - fuzzStarted > options.timeLimitMs) {
        stoppedByTime = true;
        break;
      }
      const valid = random() < options.validShare;
      const size = Math.min(options.chunkSize, options.requests - stats.sent);
      const requests = generateChunk(arbitraries, valid, size, (options.seed + chunk * 7919) | 0);
      const responses = await mapConcurrently(requests, options.concurrency, (request) => http.send(request));
      requests.forEach((request, index) => {
        const response = responses[index]!;
        stats.record(request, response, documented.get(request.operation));
        const stored = storedSecrets(request);
        for (const violation of checkResponse(request, response, secrets, stored)) stats.violation(violation, request, response, hide);
        learn.from(request, response, stored);
        checkAgainstDocument(request, response, responseSchemas.get(request.operation)?.get(response.status), doc, stats);
      });
      if (chunk % 20 === 0) options.progress?.(`${stats.sent} requests, ${stats.violations.length} violations, ${((Date.now() - fuzzStarted) / 1000).toFixed(0)} s`);

      if (valid) {
        stats.chunks.valid++;
        if (stats.chunks.valid % DRAIN_EVERY === 0) stats.drainedJobs += await driver.drain();
        baseline = await afresh(driver, stats);
        continue;
      }
      const after = await driver.snapshot();
      const accepted = requests.some((request, index) => changesState(request, responses[index]!));
      if (accepted) {
        stats.chunks.spoiledByAcceptedMutation++;
        baseline = await afresh(driver, stats);
        continue;
      }
      const differences = diffSnapshots(baseline, after);
      if (differences.length === 0) {
        stats.chunks.refusalChecked++;
        baseline = after;
        continue;
      }
      baseline = await investigate(driver, http, stats, requests, after, differences, hide);
    }
    const compared = describeSnapshot(baseline);
    const snapshotSeesChanges = await canary(driver);
    stats.drainedJobs += await driver.drain();
    const logs = engine.workerLogs.slice(logsBefore);
    const workerErrors = logs.filter((log) => log.level === "error").map((log) => log.message);
    searchSecrets(logs, sink.bodies, secrets, stats);
    return { stats, seed: options.seed, durationMs: Date.now() - started, stoppedByTime, problems: [...new Set(problems)], driverRequests: driver.requests, operations: ops.map((op) => op.key), hide, snapshotSeesChanges, workerErrors, workerLogLines: logs.length, callbacksReceived: sink.received, compared };
  } finally {
    http.close();
    await sink.stop();
  }
}

/**
 * One chunk of requests, every operation equally likely. A refusal chunk holds mutated requests that must be
 * refused, and reads (GET) of any kind. The other chunks hold valid requests and the mutated requests that
 * may well be accepted (an SQL quote in a content_id), which are no use in a refusal chunk.
 */
function generateChunk(arbitraries: OperationArbitraries[], valid: boolean, size: number, seed: number): FuzzRequest[] {
  const reads = (request: FuzzRequest) => request.method === "GET";
  const one = fc.constantFrom(...arbitraries).chain((entry) => {
    if (valid) {
      const mayPass = entry.mutated.filter((request) => !reads(request) && request.expect === "either");
      return entry.op.method === "GET" ? entry.valid : fc.oneof({ arbitrary: entry.valid, weight: 3 }, { arbitrary: mayPass, weight: 1 });
    }
    const refused = entry.mutated.filter((request) => reads(request) || request.expect === "refused");
    return entry.op.method === "GET" ? fc.oneof({ arbitrary: refused, weight: 4 }, { arbitrary: entry.valid, weight: 1 }) : refused;
  });
  return fc.sample(fc.array(one, { minLength: size, maxLength: size }), { seed, numRuns: 1 })[0]!;
}

/**
 * The 2xx JSON body of a valid request against the schema the document declares for its status (a figure,
 * not a violation). Mutated requests are left out: `/jobs/..` reaches `GET /`, and answers like it.
 */
function checkAgainstDocument(request: FuzzRequest, response: FuzzResponse, schema: JsonSchema | undefined, doc: OpenApiDocument, stats: FuzzStats): void {
  if (request.intent !== "valid" || schema === undefined || response.status < 200 || response.status >= 300) return;
  const text = response.body.toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    stats.responseMisfit(request, response.status, "(body) not JSON", text);
    return;
  }
  stats.responsesChecked++;
  const misfit = schemaMisfit(body, schema, doc);
  if (misfit) stats.responseMisfit(request, response.status, misfit, text);
}

/** Whether a response says the request may have changed the state (a request that is not a GET and was not refused). */
function changesState(request: FuzzRequest, response: FuzzResponse): boolean {
  return request.method !== "GET" && request.method !== "HEAD" && (response.status === 0 || response.status < 400);
}

/** quality.md: secrets never appear in logs or callback bodies either. */
function searchSecrets(logs: WorkerLog[], callbacks: string[], secrets: SecretRegistry, stats: FuzzStats): void {
  for (const log of logs) {
    const found = secrets.foundIn(log.message);
    if (found.length > 0) stats.finding({ kind: "secret_in_log", message: `a ${log.level} line of the worker carries ${found.length} secret(s)` }, secrets.hide(log.message).slice(0, 600));
  }
  for (const body of callbacks) {
    const found = secrets.foundIn(body);
    if (found.length > 0) stats.finding({ kind: "secret_in_callback", message: `a callback body carries ${found.length} secret(s)` }, secrets.hide(body).slice(0, 600));
  }
}

/** Deterministic pseudo-random numbers (mulberry32) for the chunk kinds. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
