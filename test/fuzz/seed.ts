import type { Client, Engine } from "../e2e/harness.ts";
import { EngineDriver, MAIN_SETTINGS } from "./engine-driver.ts";
import type { Credentials, FuzzContext } from "./fuzz-context.ts";
import type { HttpClient } from "./http-client.ts";
import type { JsonSchema } from "./json-schema.ts";
import type { SecretRegistry } from "./secrets.ts";
import { findD1File } from "./state-snapshot.ts";

/**
 * The world the fuzz runs in. Clients made through the operator API: `fuzz-main` (fuzzed), `fuzz-other` (its
 * job ids must answer 404 to fuzz-main), `fuzz-s1` / `fuzz-s2` (sacrificial: mutating operator requests
 * change them). Jobs of fuzz-main in every state: completed, failed, scheduled (run_at 2099), paused, broken,
 * a slot holder (started, waiting an hour for a retry), and one queued behind it. So no job starts on its own while
 * the fuzz runs: a refused request that changed something shows.
 */

const FAR_FUTURE = "2099-01-01T00:00:00Z";

export async function seed(engine: Engine, http: HttpClient, sinkUrl: string, secrets: SecretRegistry): Promise<EngineDriver> {
  const created = new Map<string, Client>();
  for (const name of ["fuzz-main", "fuzz-other", "fuzz-s1", "fuzz-s2"]) created.set(name, await engine.createClient(name));
  const credentials = (client: Client): Credentials => ({ name: client.name, keyId: client.keyId, apiKey: client.headers["api-key"] });
  for (const client of created.values()) secrets.add(client.headers["api-key"], client.signingSecret);
  secrets.add(engine.adminToken);

  const ctx: FuzzContext = {
    adminToken: engine.adminToken,
    sinkUrl,
    main: credentials(created.get("fuzz-main")!),
    other: credentials(created.get("fuzz-other")!),
    sacrificial: [
      { name: "fuzz-s1", activeKeyIds: [] },
      { name: "fuzz-s2", activeKeyIds: [] },
    ],
    revoked: [],
    ownJobs: [],
    foreignJobs: [],
    callbacks: [],
    workflows: [],
    schedules: [],
    idempotency: [],
    cursors: [],
  };
  const driver = new EngineDriver(http, ctx, findD1File(engine.persistTo), engine.persistTo, new Set());
  const { main, other } = ctx;

  // A revoked key per sacrificial client: it must never authenticate again.
  for (const name of ["fuzz-s1", "fuzz-s2"]) {
    const key = (await driver.call<{ key_id: string; api_key: string }>("POST", `/admin/clients/${name}/keys`, driver.adminHeaders(), { label: "revoked" })).body;
    await driver.call("DELETE", `/admin/clients/${name}/keys/${key.key_id}`, driver.adminHeaders());
    secrets.add(key.api_key);
    ctx.revoked.push({ name, keyId: key.key_id, apiKey: key.api_key });
  }
  // fuzz-main's storage: the local R2 bucket, so the storage workflows can be submitted.
  await driver.call("PUT", `/admin/clients/${main.name}/storage`, driver.adminHeaders(), {
    default: "R2",
    locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "fuzz" } } },
  });
  await driver.putSettings(main, { ...MAIN_SETTINGS, max_jobs: "3" });
  await driver.putSettings(other, { rate_limit: "100000", rate_burst: "100000", retry_limit: "0", callback_retry_schedule: "0" });

  ctx.workflows = (await driver.call<{ name: string; parameters: JsonSchema }[]>("GET", "/workflows", driver.headersOf(main))).body.map(({ name, parameters }) => ({ name, parameters }));
  ctx.schedules = Object.keys((await driver.call<{ schedules: Record<string, unknown> }>("GET", "/schedules", driver.headersOf(main))).body.schedules);

  const hook = `${sinkUrl}/hook/seed`;
  const ended = (job: { queue_state: string }) => job.queue_state === "completed" || job.queue_state === "broken";
  const mark = (id: string) => (driver.seeded.add(id), id);

  // Jobs that end: one completed, one failed (retry_limit 0); the other client's too.
  const completed = mark(await driver.submit(main, { content_id: "seed-completed", tasks: 2, rest_endpoints: [hook] }));
  const failed = mark(await driver.submit(main, { content_id: "seed-failed", tasks: 2, fail_task: "task_2", fail_times: 5, rest_endpoints: [hook] }));
  const otherCompleted = await driver.submit(other, { content_id: "seed-other", tasks: 1, rest_endpoints: [hook] });
  for (const [client, id] of [[main, completed], [main, failed], [other, otherCompleted]] as const) await driver.waitForJob(client, id, ended);

  // Jobs that wait: scheduled far ahead, and from there paused and broken (no task ever ran).
  mark(await driver.submit(main, { content_id: "seed-scheduled" }, 5, { run_at: FAR_FUTURE }));
  const paused = mark(await driver.submit(main, { content_id: "seed-paused" }, 5, { run_at: FAR_FUTURE }));
  const broken = mark(await driver.submit(main, { content_id: "seed-broken", rest_endpoints: [hook] }, 5, { run_at: FAR_FUTURE }));
  await driver.call("PATCH", `/jobs/${paused}`, driver.headersOf(main), { queue_state: "paused" });
  await driver.call("PATCH", `/jobs/${broken}`, driver.headersOf(main), { queue_state: "broken" });
  await driver.submit(other, { content_id: "seed-other-scheduled" }, 5, { run_at: FAR_FUTURE });

  // One slot, held by a job that waits an hour for a retry; one job queued behind it.
  await driver.putSettings(main, MAIN_SETTINGS);
  const holder = await driver.submitSlotHolder();
  await driver.waitForJob(main, holder, (job) => job.queue_state === "started");
  mark(await driver.submit(main, { content_id: "seed-queued", tasks: 1 }, 5));

  for (const id of [completed, failed, holder]) {
    const callbacks = (await driver.call<{ callback_id: string }[]>("GET", `/jobs/${id}/callbacks`, driver.headersOf(main))).body;
    ctx.callbacks.push(...callbacks.slice(0, 3).map((callback) => ({ jobId: id, callbackId: callback.callback_id })));
  }
  if (!(await driver.settle(60_000))) throw new Error("the engine did not quieten after seeding");
  return driver;
}
