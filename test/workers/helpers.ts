import { env, exports } from "cloudflare:workers";
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  evictDurableObject,
  getQueueResult,
  runInDurableObject,
  waitOnExecutionContext,
  type QueueResult,
} from "cloudflare:test";
import { ulid } from "ulidx";
import { vi } from "vitest";
import { sha256Hex } from "../../src/api/api-keys";
import type { JobObject } from "../../src/api/schemas";
import type { JobSpec } from "../../src/coordinator/job-spec";
import worker, { type JobCoordinator } from "../../src/index";
import { SelftestParameters } from "../../src/workflows/selftest";

export type { JobObject };

/** The worker's default export seen through the handler interface, so tests call it as the runtime does. */
const handlers: ExportedHandler<Env> = worker;

/** Creates a client with one API key and returns the headers that authenticate as it. */
export async function createClient(name: string, key = `key-${name}-${crypto.randomUUID()}`): Promise<Record<string, string>> {
  const now = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare(`INSERT OR IGNORE INTO clients (name, config, created_at) VALUES (?, '{}', ?)`).bind(name, now),
    env.DB.prepare(`INSERT INTO api_keys (id, client, key_hash, created_at) VALUES (?, ?, ?, ?)`).bind(
      crypto.randomUUID(),
      name,
      await sha256Hex(key),
      now,
    ),
  ]);
  return { client: name, "api-key": key };
}

/** Sends a request to the worker under test. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`http://engine.test${path}`, init));
}

export function postJson(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return call(path, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
}

/**
 * Sends a request to the worker's fetch handler with extra bindings, as `app.request(url, init, env)` does:
 * the test configuration sets no `ADMIN_TOKEN`, so the operator API is reached this way.
 */
export async function callWithBindings(path: string, init: RequestInit, bindings: Partial<Env>): Promise<Response> {
  const request = new Request(`http://engine.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  return handlers.fetch!(request, { ...env, ...bindings }, createExecutionContext());
}

/** GET with the client's headers, parsed. */
export async function getJson<T>(path: string, headers: Record<string, string>): Promise<{ status: number; body: T }> {
  const response = await call(path, { headers });
  return { status: response.status, body: (await response.json()) as T };
}

/** Submits a selftest job and returns its id; fails the test unless it is accepted. */
export async function submitSelftest(
  headers: Record<string, string>,
  parameters: Record<string, unknown>,
  job: Record<string, unknown> = {},
): Promise<string> {
  const response = await postJson("/job", { job: { workflow: "selftest", ...job }, parameters }, headers);
  const body = (await response.json()) as { id?: string };
  if (response.status !== 202 || !body.id) throw new Error(`job not accepted: ${response.status} ${JSON.stringify(body)}`);
  return body.id;
}

export async function jobObject(id: string, headers: Record<string, string>): Promise<JobObject> {
  const { status, body } = await getJson<JobObject>(`/jobs/${id}`, headers);
  if (status !== 200) throw new Error(`GET /jobs/${id} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

/**
 * Waits until the job has ended (queue_state `completed`) and the D1 job index shows it (listing, counts and
 * the dashboard read the index, which follows the job within moments), and returns it.
 */
export async function waitForJobEnd(id: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<JobObject> {
  const job = await waitFor(
    () => jobObject(id, headers),
    (found) => found.queue_state === "completed",
    timeoutMs,
  );
  await indexed(id);
  return job;
}

export interface LogLine {
  id: number;
  job_id: string;
  task_id: string | null;
  severity: number;
  severity_description: string;
  progname: string;
  message: string;
  created_at: string;
  updated_at: string;
  visible: boolean;
}

/** Polls `read` until `done` holds or the time runs out. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Rows of a D1 query. */
export async function rows<T>(sql: string, ...params: (string | number | null)[]): Promise<T[]> {
  const { results } = await env.DB.prepare(sql)
    .bind(...params)
    .all<T>();
  return results;
}

/**
 * Keeps the messages sent on `queue` (by the API, a coordinator or a consumer: they share the test's
 * isolate) instead of delivering them, so a test decides when and how each one reaches its consumer.
 * Restored by `vi.restoreAllMocks()`.
 */
export function captureQueue<T>(queue: Queue): T[] {
  const sent: T[] = [];
  const metrics = { backlogCount: 0, backlogBytes: 0 };
  vi.spyOn(queue, "send").mockImplementation(async (body) => {
    sent.push(body as T);
    return { metadata: { metrics } };
  });
  vi.spyOn(queue, "sendBatch").mockImplementation(async (messages) => {
    for (const message of messages) sent.push(message.body as T);
    return { metadata: { metrics } };
  });
  return sent;
}

export interface Delivered<T> {
  id: string;
  body: T;
  attempts?: number;
}

/**
 * Hands a batch to the worker's queue handler, as the runtime does, and returns how each message was
 * settled. `getQueueResult` does not report a retry's delay, so each message's `retry` is observed too.
 */
export async function deliverBatch<T>(queue: string, messages: Delivered<T>[], bindings: Partial<Env> = {}): Promise<QueueResult> {
  const batch = createMessageBatch<T>(
    queue,
    messages.map((message) => ({ id: message.id, timestamp: new Date(), attempts: message.attempts ?? 1, body: message.body })),
  );
  const delays = new Map<string, number>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options) => {
      if (options?.delaySeconds !== undefined) delays.set(message.id, options.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await handlers.queue!(batch as MessageBatch<unknown>, { ...env, ...bindings }, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    explicitAcks: [...result.explicitAcks].sort(),
    retryMessages: result.retryMessages.map((retry) => {
      const delaySeconds = retry.delaySeconds ?? delays.get(retry.msgId);
      return delaySeconds === undefined ? retry : { ...retry, delaySeconds };
    }),
  };
}

/** Runs the worker's cron handler at `scheduledTime`. */
export async function runScheduled(scheduledTime: number, cron = "*/5 * * * *"): Promise<void> {
  const ctx = createExecutionContext();
  await handlers.scheduled!(createScheduledController({ scheduledTime, cron }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/**
 * A JobCoordinator stub whose RPC methods keep the class's declared types: the generated stub types
 * turn results holding `unknown` (task outputs, inputs) into `never`.
 */
export type CoordinatorStub = Omit<DurableObjectStub<JobCoordinator>, CoordinatorMethod> & Pick<JobCoordinator, CoordinatorMethod>;
type CoordinatorMethod = "start" | "claim" | "complete" | "fail" | "snapshot" | "purge" | "view" | "logs" | "deliveries" | "recordDeliveries" | "create";

/** The JobCoordinator of a job, named by the job id as the engine names it. */
export function coordinatorOf(jobId: string): CoordinatorStub {
  return env.JOB_COORDINATOR.get(env.JOB_COORDINATOR.idFromName(jobId)) as unknown as CoordinatorStub;
}

/** A JobSpec for a selftest job as the API would build it; `parameters` go through the workflow's schema. */
export function selftestSpec(parameters: Record<string, unknown>, overrides: Partial<JobSpec> = {}): JobSpec {
  const submitted = { content_id: "content-1", ...parameters };
  const parsed = SelftestParameters.parse(submitted);
  return {
    jobId: ulid(),
    client: "coordinator-client",
    workflow: "selftest",
    contentId: parsed.content_id,
    parameters: parsed,
    customData: parsed.custom_data ?? null,
    endpoints: parsed.rest_endpoints,
    retryLimit: 3,
    retryDelayMs: 5_000,
    callbackScheduleMs: [5_000, 300_000],
    createdAt: Date.now(),
    priority: 5,
    persist: false,
    runAt: null,
    submittedParameters: submitted,
    submissionLog: [{ severity: "info", message: "submitted by a test" }],
    ...overrides,
  };
}

/**
 * Makes a task's deadline (dispatch lease, attempt lease or retry timer) come due, as if its time had
 * passed, then restarts the coordinator so it reloads its state from storage. Leases are tens of seconds
 * in wrangler.toml; this moves the clock of one task (of the first page, in the head row) instead of waiting.
 */
export async function expireTaskDeadline(jobId: string, task: string): Promise<void> {
  const stub = env.JOB_COORDINATOR.get(env.JOB_COORDINATOR.idFromName(jobId));
  await runInDurableObject(stub, (_instance, state) => {
    const [row] = state.storage.sql.exec<{ body: string }>(`SELECT body FROM job_rows WHERE key = 0`).toArray();
    if (!row) throw new Error(`no stored job ${jobId}`);
    const head = JSON.parse(row.body) as { tasks: { name: string; deadline: number | null }[] };
    const stored = head.tasks.find((candidate) => candidate.name === task);
    if (!stored) throw new Error(`no stored task ${task}`);
    stored.deadline = Date.now() - 1;
    state.storage.sql.exec(`UPDATE job_rows SET body = ? WHERE key = 0`, JSON.stringify(head));
  });
  await evictDurableObject(stub);
}

/** Waits until the D1 job index has caught up with these jobs (listing, dashboard and counts read it). */
export async function indexed(...jobIds: string[]): Promise<void> {
  await Promise.all(jobIds.map((id) => indexRow(id)));
}

/**
 * The job's row in the D1 job index once it has caught up with the job's coordinator (the row is written
 * within a quarter second of a job-level change, coalesced), or null for a job without one.
 */
export async function indexRow<T = Record<string, unknown>>(jobId: string, timeoutMs = 5_000): Promise<T | null> {
  const snapshot = await waitFor(() => coordinatorOf(jobId).snapshot(), (found) => !found?.indexPending, timeoutMs);
  if (!snapshot) return null;
  return (await rows<T>(`SELECT * FROM jobs WHERE id = ?`, jobId))[0] ?? null;
}

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

/**
 * Intercepts outbound fetch (the worker runs in the test's isolate) with a receiver that answers
 * `respond(url)`; returns the requests it received, in order. Restored by `vi.restoreAllMocks()`.
 */
export function interceptFetch(respond: (url: string) => Response | Promise<Response>): RecordedRequest[] {
  const received: RecordedRequest[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    received.push({ url: request.url, method: request.method, headers: request.headers, body: await request.text() });
    return respond(request.url);
  });
  return received;
}
