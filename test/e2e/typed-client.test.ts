import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ContentType, createClient, TaskEngineError, verifyCallback, type Callback, type Job, type TaskEngineClient } from "../../client/index.ts";
import { Engine } from "./harness";
import { Receiver } from "./receiver";

/**
 * `task-engine/client` (client/index.ts, on the types swagger-typescript-api generated from /openapi.json)
 * against the real engine: a round trip of every operation of the client, operator and worker APIs, its typed
 * error, cursor iteration, and `verifyCallback` on callbacks the engine signed, across a secret rotation.
 */

const exec = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
let engine: Engine;
let receiver: Receiver;
let operator: TaskEngineClient;
let client: TaskEngineClient;
let name: string;
let signingSecret: string;
let apiKey: string;
/** Every operation the test called, to check none was left out. */
const called = new Set<string>();

/** The client with every call it makes recorded by its operation name. */
function recorded(api: TaskEngineClient): TaskEngineClient {
  for (const group of Object.values(api)) {
    if (group === null || typeof group !== "object") continue;
    for (const [operation, call] of Object.entries(group as Record<string, unknown>)) {
      if (typeof call !== "function") continue;
      (group as Record<string, unknown>)[operation] = (...args: unknown[]) => {
        called.add(operation);
        return (call as (...a: unknown[]) => unknown)(...args);
      };
    }
  }
  const root = api.getRoot;
  api.getRoot = (...args) => {
    called.add("getRoot");
    return root(...args);
  };
  return api;
}

beforeAll(async () => {
  [engine, receiver] = await Promise.all([Engine.start({ name: "typed-client" }), Receiver.start()]);
  operator = recorded(createClient({ baseUrl: engine.url, adminToken: engine.adminToken }));
  const created = await operator.admin.postAdminClients({ name: "typed-client" });
  name = created.client;
  signingSecret = created.signing_secret;
  apiKey = created.api_key;
  client = recorded(createClient({ baseUrl: engine.url, client: name, apiKey: created.api_key }));
});

afterAll(async () => {
  await engine?.destroy();
  await receiver?.stop();
});

async function finished(id: string): Promise<Job> {
  let last: Job | undefined;
  for await (const job of client.followJob(id, 100)) last = job;
  return last!;
}

test("every client API operation, typed, against the real worker; errors as TaskEngineError", async () => {
  expect(await client.getRoot()).toEqual({ result: "alive" });
  await client.settings.postSettings({ name: "retry_delay", setting: "0.1" });
  const hook = receiver.url("/typed");
  const accepted = await client.job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "typed", tasks: 3, task_ms: 10, fail_task: "task_2", fail_times: 1, rest_endpoints: [hook] } });
  const job = await finished(accepted.id);
  expect(job).toMatchObject({ id: accepted.id, queue_state: "completed", failed: false });
  expect((await client.jobs.getJobsById(accepted.id)).tasks?.map((task) => task.attempts)).toEqual([1, 2, 1]);
  const log = await client.logs.getLogsById(accepted.id, { show_all: "1" });
  expect(log.length).toBeGreaterThan(3);
  // 3 tasks started and completed, the second one failed once and started again, and the job's end.
  await receiver.waitFor((received) => received.filter((request) => request.path === "/typed").length >= 9, 15_000, "the callbacks");
  const deliveries = await client.jobs.getJobsByIdCallbacks(accepted.id);
  expect(deliveries.length).toBe(9);
  expect(await client.jobs.postJobsByIdCallbacksByCallbackIdRedeliver(accepted.id, deliveries[0]!.callback_id)).toMatchObject({ result: "accepted" });

  // Paging: three jobs, one per page, followed through the Link cursor.
  const more = [await client.job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "typed", tasks: 1 } }), await client.job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "typed", tasks: 1 } })];
  for (const { id } of more) await finished(id);
  // (The listing follows a job within a second: ask again until all three are there.)
  let listed: string[] = [];
  for (const until = Date.now() + 5_000; listed.length < 3 && Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 200))) {
    listed = [];
    for await (const listedJob of client.iterateJobs({ limit: 1 })) listed.push(listedJob.id);
  }
  expect(listed).toEqual([more[1]!.id, more[0]!.id, accepted.id]);
  expect((await client.jobs.getJobs({ workflow: "selftest", limit: 10 })).length).toBe(3);

  // Management: a scheduled job paused and resumed, a rerun, a retry of a failed job.
  const later = await client.job.postJob({ job: { workflow: "selftest", run_at: "2099-01-01T00:00:00.000Z" }, parameters: { content_id: "typed", tasks: 1 } });
  await client.jobs.patchJobsById(later.id, { queue_state: "paused" });
  expect((await client.jobs.getJobsById(later.id)).queue_state).toBe("paused");
  const rerun = await client.jobs.postJobsByIdRerun(accepted.id);
  expect(rerun.id).not.toBe(accepted.id);
  const failing = await client.job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "typed", tasks: 1, fail_task: "task_1", fail_times: 5 } });
  expect(await finished(failing.id)).toMatchObject({ failed: true });
  expect(await client.jobs.postJobsByIdRetry(failing.id)).toMatchObject({ id: failing.id });

  expect((await client.workflows.getWorkflows()).map((workflow) => workflow.name)).toContain("vodstream");
  expect((await client.workflows.getWorkflowsByName("selftest")).name).toBe("selftest");
  expect(await client.health.getHealth()).toHaveProperty("jobs");
  expect(await client.dashboard.getDashboard()).toBeTruthy();

  // One error type: the status, the code, the details and the request id of the answer.
  const wrong = await client.jobs.getJobsById("01NOTAJOB").catch((error: unknown) => error);
  expect(wrong).toBeInstanceOf(TaskEngineError);
  expect(wrong).toMatchObject({ status: 404, code: "not_found" });
  expect((wrong as TaskEngineError).requestId).toMatch(/.+/);
  const invalid = (await client.job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "typed", tasks: 0 } }).catch((error: unknown) => error)) as TaskEngineError;
  expect([invalid.status, invalid.code, invalid.details[0]?.path]).toEqual([400, "validation_failed", "parameters.tasks"]);
}, 120_000);

test("every operator API operation, and the worker API's lease, heartbeat, files and report", async () => {
  expect(await operator.admin.getAdminClientsByName(name)).toMatchObject({ client: name });
  expect(await operator.admin.getAdminDeadLetters()).toMatchObject({ dead_letters: expect.any(Array) });
  const key = await operator.admin.postAdminClientsByNameKeys(name, { label: "second" });
  await operator.admin.deleteAdminClientsByNameKeysByKeyId(name, key.key_id);
  await operator.admin.putAdminClientsByNameConfig(name, { callback_rules: [] });
  await operator.admin.putAdminClientsByNameStorage(name, { default: "R2", locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "typed" } } } });
  await operator.admin.putAdminClientsByNameDrm(name, { provider: "static", seed: "s".repeat(32) });
  await operator.admin.putAdminClientsByNamePools(name, { pools: { media: "typed-pool" } });
  expect(await client.schedules.getSchedules()).toMatchObject({ result: "ok" });
  expect(await client.scheduler.putScheduler({ schedule: "retention_cleanup", active: true })).toMatchObject({ result: "ok" });

  const token = await operator.admin.postAdminPoolsByPoolTokens("typed-pool", { label: "typed", client: name });
  const worker = recorded(createClient({ baseUrl: engine.url, workerToken: token.token }));
  const submitted = await client.job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "typed", tasks: 1, runs_on: "media" } });
  const offered = await worker.workers.postWorkersLease({ pool: "typed-pool", worker_id: "typed-worker", max: 1, wait_s: 10 });
  const lease = offered.leases[0]!;
  expect(lease.job_id).toBe(submitted.id);
  expect(await worker.workers.postWorkersLeasesByLeaseIdHeartbeat(lease.lease_id, { progress: 50, phase: "half" })).toMatchObject({ cancel: false });
  await worker.workers.putWorkersLeasesByLeaseIdFilesByRefByPath(lease.lease_id, "output", "note.txt", "hello" as unknown as File, { type: ContentType.Text });
  expect((await worker.workers.getWorkersLeasesByLeaseIdFilesByRef(lease.lease_id, "output")).files).toEqual([{ path: "note.txt", size: 5 }]);
  const file = await worker.workers.getWorkersLeasesByLeaseIdFilesByRefByPath(lease.lease_id, "output", "note.txt", { format: "text" });
  expect(file).toBe("hello");
  await worker.workers.postWorkersLeasesByLeaseIdComplete(lease.lease_id, { output: { ok: true } });
  expect(await finished(submitted.id)).toMatchObject({ queue_state: "completed", failed: false });
  // A second job's attempt reported failed (final): the job fails.
  const second = await client.job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "typed", tasks: 1, runs_on: "media" } });
  const again = (await worker.workers.postWorkersLease({ pool: "typed-pool", worker_id: "typed-worker", max: 1, wait_s: 10 })).leases[0]!;
  await worker.workers.postWorkersLeasesByLeaseIdFail(again.lease_id, { error: "typed failure", retryable: false });
  expect(await finished(second.id)).toMatchObject({ failed: true });
  expect((await operator.admin.getAdminPoolsByPool("typed-pool")).tokens).toHaveLength(1);
  await operator.admin.deleteAdminPoolsByPoolTokensByTokenId("typed-pool", token.token_id);

  const rotated = await operator.admin.postAdminClientsByNameSigningSecrets(name, { overlap_seconds: 3600 });
  expect(rotated.signing_secret).toMatch(/^whsec_/);
  signingSecret = `${rotated.signing_secret} ${signingSecret}`;

  // Every operation of /openapi.json (the generator names each method after its operationId) was called.
  const document = (await (await fetch(`${engine.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId: string }>> };
  const operations = Object.values(document.paths).flatMap((item) => Object.values(item).map((operation) => operation.operationId));
  expect(operations.length).toBeGreaterThan(30);
  expect(operations.filter((operation) => !called.has(operation))).toEqual([]);
}, 120_000);

test("verifyCallback checks the engine's signatures, across a rotation, and returns typed callbacks", async () => {
  const [newest, previous] = signingSecret.split(" ") as [string, string];
  const hook = receiver.url("/signed");
  const { id } = await client.job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "typed", tasks: 1, rest_endpoints: [hook] } });
  await receiver.waitFor((received) => received.filter((request) => request.path === "/signed").length >= 3, 15_000, "the signed callbacks");
  // A receiver keeps both secrets during the overlap (the engine's isolates pick up the new one within 10 s).
  const bodies: Callback[] = receiver.at("/signed").map((request) => verifyCallback(request.raw, request.headers as Record<string, string>, [newest, previous]));
  expect(bodies.map((body) => ("task_id" in body ? `task ${body.event}` : `job ${body.status}`))).toEqual(["task start", "task complete", "job completed"]);
  expect(bodies.every((body) => body.job_id === id)).toBe(true);
  // The old secret alone verifies what was signed before the rotation; a wrong secret, or a changed body, nothing.
  const before = receiver.at("/typed")[0]!;
  expect(verifyCallback(before.raw, before.headers as Record<string, string>, [previous]).client).toBe(name);
  const request = receiver.at("/signed")[0]!;
  expect(() => verifyCallback(request.raw, request.headers as Record<string, string>, ["whsec_" + Buffer.from("wrong-secret-wrong-secret").toString("base64")])).toThrow(/matches none/);
  expect(() => verifyCallback(request.raw.replace(id, id.slice(0, -1) + (id.endsWith("0") ? "1" : "0")), request.headers as Record<string, string>, [newest, previous])).toThrow(/matches none/);
}, 60_000);

test("the CLI (npx task-engine) submits, lists, shows, logs and watches a job until it ends", async () => {
  const cli = (...args: string[]) =>
    exec(process.execPath, [join(ROOT, "client", "bin.mjs"), ...args, "--engine", engine.url, "--client", name, "--api-key", apiKey], { cwd: ROOT });
  const id = (await cli("submit", "selftest", "content_id=cli", "tasks=2", "task_ms=300")).stdout.trim();
  expect(id).toMatch(/^[0-9A-Z]{26}$/);
  const watched = await cli("watch", id);
  // Not a terminal: one snapshot per change, the last one the job completed with both tasks done.
  const snapshots = watched.stdout.trim().split(`\n${id}`);
  expect(snapshots.length).toBeGreaterThan(1);
  expect(snapshots.at(-1)).toMatch(/completed\s+\[█{20}\] 100%/);
  expect(snapshots.at(-1)).toMatch(/task_2\s+completed/);
  expect((await cli("list", "--limit", "50")).stdout).toContain(id);
  expect(JSON.parse((await cli("get", id)).stdout)).toMatchObject({ id, queue_state: "completed" });
  expect((await cli("logs", id)).stdout).toMatch(/INFO/);
  const refused = await cli("submit", "selftest", "tasks=0").catch((error: { code: number; stderr: string }) => error);
  expect(refused).toMatchObject({ code: 2 });
  expect((refused as { stderr: string }).stderr).toMatch(/^400 validation_failed: [\s\S]*parameters\./);
}, 60_000);
