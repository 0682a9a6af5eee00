import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { CLIENT_CACHE_MS } from "../../src/api/client-cache";
import { INDEX_DELAY_MS } from "../../src/coordinator/index-writer";
import {
  call,
  callWithBindings,
  coordinatorOf,
  getJson,
  indexed,
  interceptFetch,
  jobObject,
  postJson,
  rows,
  submitSelftest,
  waitFor,
  waitForJobEnd,
} from "./helpers";

/**
 * Tenant isolation (api.md, Auth and tenancy; quality.md): every job endpoint, tried by another client with
 * the owner's job ids, answers exactly as for an unknown id (404) or lists nothing; tried with missing, wrong
 * or crossed credentials it answers 401; either way the owner's jobs do not change. A revoked key stops
 * working on every endpoint: at once in the isolate that revoked it, and in every other isolate within the
 * 10 s an isolate keeps what it read of a client (src/api/client-cache.ts). Clients are made through the
 * operator API, as in production.
 */

const ADMIN_TOKEN = "isolation-admin-token";
const UNKNOWN_ID = "01JD5Q3Y8Z6K7M8N9P0QRSTVWX";
const NOT_FOUND = { error: "Job not found.", code: "not_found" };
const UNAUTHORISED = { error: "Unauthorised request.", code: "unauthorised" };
const operator = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

interface Credentials {
  name: string;
  keyId: string;
  headers: Record<string, string>;
}

let owner: Credentials;
let stranger: Credentials;
/** The owner's jobs: ended (with a delivered callback), failed (retry allowed), and waiting for a future run_at (PATCH allowed). */
const ids = { ended: "", failed: "", scheduled: "", callback: "" };

async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return callWithBindings(path, { method, headers: operator, body: body === undefined ? undefined : JSON.stringify(body) }, { ADMIN_TOKEN });
}

async function newClient(name: string): Promise<Credentials> {
  const response = await admin("POST", "/admin/clients", { name });
  expect(response.status).toBe(201);
  const created = (await response.json()) as { client: string; key_id: string; api_key: string };
  return { name: created.client, keyId: created.key_id, headers: { client: created.client, "api-key": created.api_key } };
}

/**
 * Everything of the owner's that a request could change: its jobs' index rows and coordinators (state, log,
 * delivery log; not the cost ledger, which counts every request made to them), and all job counts.
 */
async function ownerState(): Promise<unknown> {
  const jobIds = [ids.ended, ids.failed, ids.scheduled];
  const coordinator = async (id: string) => {
    const stub = coordinatorOf(id);
    const { ledger: _ledger, ...snapshot } = (await stub.snapshot())!;
    return { ...snapshot, logs: await stub.logs(owner.name), deliveries: await stub.deliveries(owner.name) };
  };
  return {
    jobs: await rows(`SELECT * FROM jobs WHERE client = ? ORDER BY id`, owner.name),
    coordinators: await Promise.all(jobIds.map(coordinator)),
    allJobs: await rows(`SELECT client, count(*) AS n FROM jobs GROUP BY client ORDER BY client`),
  };
}

/** A job endpoint, with a path and body built from the owner's ids (`{id}` is the job the endpoint acts on). */
interface Endpoint {
  name: string;
  method: "GET" | "POST" | "PATCH";
  /** Which of the owner's jobs: the one on which the owner's own request would succeed. */
  job: keyof typeof ids;
  path: string;
  body?: unknown;
  /** What the owner itself gets: proves the stranger's 404 is not just a request that fails anyway. */
  ownerStatus: number;
}

const ENDPOINTS: Endpoint[] = [
  { name: "GET /jobs/{id}", method: "GET", job: "ended", path: "/jobs/{id}", ownerStatus: 200 },
  { name: "GET /logs/{id}", method: "GET", job: "ended", path: "/logs/{id}", ownerStatus: 200 },
  { name: "GET /logs/{id}?show_all=1", method: "GET", job: "ended", path: "/logs/{id}?show_all=1", ownerStatus: 200 },
  { name: "GET /jobs/{id}/callbacks", method: "GET", job: "ended", path: "/jobs/{id}/callbacks", ownerStatus: 200 },
  { name: "PATCH /jobs/{id} priority", method: "PATCH", job: "scheduled", path: "/jobs/{id}", body: { priority: 1 }, ownerStatus: 200 },
  { name: "PATCH /jobs/{id} queue_state broken", method: "PATCH", job: "scheduled", path: "/jobs/{id}", body: { queue_state: "broken" }, ownerStatus: 200 },
  { name: "PATCH /jobs/{id} persist", method: "PATCH", job: "ended", path: "/jobs/{id}", body: { persist: true }, ownerStatus: 200 },
  { name: "POST /jobs/{id}/rerun", method: "POST", job: "ended", path: "/jobs/{id}/rerun", body: {}, ownerStatus: 202 },
  { name: "POST /jobs/{id}/retry", method: "POST", job: "failed", path: "/jobs/{id}/retry", body: {}, ownerStatus: 202 },
  { name: "POST /jobs/{id}/callbacks/{callback_id}/redeliver", method: "POST", job: "ended", path: "/jobs/{id}/callbacks/{callback}/redeliver", body: {}, ownerStatus: 202 },
];

function send(endpoint: Endpoint, id: string, headers: Record<string, string>): Promise<Response> {
  const path = endpoint.path.replace("{id}", id).replace("{callback}", ids.callback);
  const init: RequestInit = { method: endpoint.method, headers: { ...headers } };
  if (endpoint.body !== undefined) {
    init.headers = { ...headers, "content-type": "application/json" };
    init.body = JSON.stringify(endpoint.body);
  }
  return call(path, init);
}

beforeAll(async () => {
  interceptFetch(() => new Response("ok"));
  owner = await newClient("isolation-owner");
  stranger = await newClient("isolation-stranger");
  expect((await postJson("/settings", { name: "retry_limit", setting: "0" }, owner.headers)).status).toBe(200);
  ids.ended = await submitSelftest(owner.headers, { content_id: "owner-secret", tasks: 1, rest_endpoints: ["https://cms.owner.invalid/hook"] });
  ids.failed = await submitSelftest(owner.headers, { content_id: "owner-failed", tasks: 1, fail_task: "task_1" });
  ids.scheduled = await submitSelftest(owner.headers, { content_id: "owner-later", tasks: 1 }, { run_at: "2099-01-01T00:00:00Z", priority: 7 });
  await waitForJobEnd(ids.ended, owner.headers);
  expect(await waitForJobEnd(ids.failed, owner.headers)).toMatchObject({ failed: true });
  const callbacks = await waitFor(
    async () => (await coordinatorOf(ids.ended).deliveries(owner.name)) ?? [],
    (found) => found.length > 0 && found.every((row) => row.state === "delivered"),
  );
  ids.callback = callbacks[0]!.callback_id;
  await indexed(ids.scheduled);
}, 30_000);

afterAll(() => {
  vi.restoreAllMocks();
});

describe("another client's job ids", () => {
  it.each(ENDPOINTS.map((endpoint) => [endpoint.name, endpoint] as const))("%s answers 404 exactly as an unknown id, and changes nothing", async (_name, endpoint) => {
    const before = await ownerState();
    const theirs = await send(endpoint, ids[endpoint.job], stranger.headers);
    const theirsBody = await theirs.json();
    const unknown = await send(endpoint, UNKNOWN_ID, stranger.headers);
    expect({ status: theirs.status, body: theirsBody }).toEqual({ status: 404, body: NOT_FOUND });
    expect({ status: unknown.status, body: await unknown.json() }).toEqual({ status: 404, body: NOT_FOUND });
    expect(await ownerState()).toEqual(before);
  });

  it("never lists them, whatever the filters, cursor or client parameter", async () => {
    const ownerIds = [ids.ended, ids.failed, ids.scheduled];
    const own = await getJson<{ id: string }[]>("/jobs?limit=100", owner.headers);
    expect(own.body.map((job) => job.id).sort()).toEqual([...ownerIds].sort());
    const last = await call("/jobs?limit=1", { headers: owner.headers });
    const next = /<([^>]+)>; rel="next"/.exec(last.headers.get("link") ?? "")?.[1];
    expect(next).toBeDefined();
    for (const query of [
      "",
      "?limit=100",
      `?job_ids=${ownerIds.join(",")}`,
      "?search=owner",
      "?search=owner-secret",
      `?client=${owner.name}`,
      "?state=completed",
      "?failed=1",
      "?state=scheduled",
      "?workflow=selftest",
      `?${next!.split("?")[1]}`,
    ]) {
      expect(await getJson(`/jobs${query}`, stranger.headers), query).toEqual({ status: 200, body: [] });
    }
    const dashboard = await getJson<{ started: unknown[]; queued: unknown[]; scheduled: unknown[] }>("/dashboard", stranger.headers);
    expect(dashboard.body).toMatchObject({ started: [], queued: [], scheduled: [] });
    const health = await getJson<{ jobs: Record<string, number> }>("/health", stranger.headers);
    expect(health.body.jobs).toMatchObject({ queued: 0, started: 0, scheduled: 0, completed: 0, failed: 0, broken: 0 });
  });

  it("cannot submit a job as the owner, and the owner's Idempotency-Key does not lead to the owner's job", async () => {
    const before = await ownerState();
    const asOwner = await postJson("/job", { client: owner.name, job: { workflow: "selftest" }, parameters: { content_id: "x", tasks: 1 } }, stranger.headers);
    expect(asOwner.status).toBe(403);
    expect(await ownerState()).toEqual(before);

    const body = { job: { workflow: "selftest" }, parameters: { content_id: "same-key", tasks: 1 } };
    const first = await postJson("/job", body, { ...owner.headers, "idempotency-key": "shared-key-1" });
    const second = await postJson("/job", body, { ...stranger.headers, "idempotency-key": "shared-key-1" });
    expect([first.status, second.status]).toEqual([202, 202]);
    const [mine, theirs] = (await Promise.all([first.json(), second.json()])) as { id: string }[];
    expect(theirs!.id).not.toBe(mine!.id);
    expect((await jobObject(theirs!.id, stranger.headers)).client).toBe(stranger.name);
    expect((await getJson(`/jobs/${mine!.id}`, stranger.headers)).status).toBe(404);
    await Promise.all([waitForJobEnd(mine!.id, owner.headers), waitForJobEnd(theirs!.id, stranger.headers)]);
    // Back to the three jobs the other tests look at.
    await indexed(mine!.id);
    await rows(`DELETE FROM jobs WHERE id = ?`, mine!.id);
  });

  it("the owner's own requests succeed where the stranger's were refused", async () => {
    // Last: these change the owner's jobs (rerun, retry, break, persist, redeliver).
    for (const endpoint of ENDPOINTS) {
      const response = await send(endpoint, ids[endpoint.job], owner.headers);
      expect(response.status, `${endpoint.name}: ${await response.clone().text()}`).toBe(endpoint.ownerStatus);
    }
    // Let the rerun, the retry and the redelivery finish while outbound fetch is still intercepted.
    await new Promise((resolve) => setTimeout(resolve, 2 * INDEX_DELAY_MS));
    const jobs = (await rows<{ id: string }>(`SELECT id FROM jobs WHERE client = ?`, owner.name)).map((row) => row.id);
    for (const id of jobs) {
      await waitFor(
        async () => ({ job: await coordinatorOf(id).view(owner.name), deliveries: await coordinatorOf(id).deliveries(owner.name) }),
        ({ job, deliveries }) => (job!.queue_state === "completed" || job!.queue_state === "broken") && deliveries!.every((row) => row.state === "delivered"),
      );
    }
  });
});

describe("missing, wrong or crossed credentials", () => {
  const credentials: [string, () => Record<string, string>][] = [
    ["no headers", () => ({})],
    ["no api-key", () => ({ client: owner.name })],
    ["no client", () => ({ "api-key": owner.headers["api-key"]! })],
    ["a wrong key", () => ({ client: owner.name, "api-key": "tek_not-the-key" })],
    ["the stranger's key under the owner's name", () => ({ client: owner.name, "api-key": stranger.headers["api-key"]! })],
    ["the owner's key under the stranger's name", () => ({ client: stranger.name, "api-key": owner.headers["api-key"]! })],
    ["the owner's key in x-api-key under the stranger's name", () => ({ client: stranger.name, "x-api-key": owner.headers["api-key"]! })],
    ["an over-long key", () => ({ client: owner.name, "api-key": "k".repeat(300) })],
  ];
  const cases = credentials.flatMap(([label, headers]) =>
    [...ENDPOINTS, { name: "GET /jobs", method: "GET", job: "ended", path: "/jobs?job_ids={id}", ownerStatus: 200 } as Endpoint].map(
      (endpoint) => [`${endpoint.name} with ${label}`, endpoint, headers] as const,
    ),
  );

  it.each(cases)("%s → 401, nothing changed", async (_name, endpoint, headers) => {
    const before = await ownerState();
    const response = await send(endpoint, ids[endpoint.job], headers());
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 401, body: UNAUTHORISED });
    expect(await ownerState()).toEqual(before);
  });
});

describe("a revoked key", () => {
  it("revoked through another isolate stops working here within CLIENT_CACHE_MS (10 s), and not before a read of D1", async () => {
    const client = await newClient("isolation-revoked-elsewhere");
    expect((await call("/jobs", { headers: client.headers })).status).toBe(200);
    // Another isolate revokes the key: D1 changes, this isolate's memory does not hear of it.
    await env.DB.prepare(`UPDATE api_keys SET revoked_at = ? WHERE id = ?`).bind(new Date().toISOString(), client.keyId).run();
    const revokedAt = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: revokedAt });
    try {
      // Within the window this isolate still knows the key (the documented bound, not a promise of more).
      vi.setSystemTime(revokedAt + CLIENT_CACHE_MS - 500);
      expect((await call("/jobs", { headers: client.headers })).status).toBe(200);
      vi.setSystemTime(revokedAt + CLIENT_CACHE_MS);
      const refused = await call("/jobs", { headers: client.headers });
      expect({ status: refused.status, body: await refused.json() }).toEqual({ status: 401, body: UNAUTHORISED });
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops working at once on every endpoint, while the client's other key and other clients carry on", async () => {
    const client = await newClient("isolation-revoked");
    const added = await admin("POST", `/admin/clients/${client.name}/keys`, { label: "second" });
    expect(added.status).toBe(201);
    const second = { client: client.name, "api-key": ((await added.json()) as { api_key: string }).api_key };
    const jobId = await submitSelftest(client.headers, { content_id: "before-revoke", tasks: 1 });
    await waitForJobEnd(jobId, client.headers);
    // The key works right up to its revocation (so nothing about it is cached as "bad").
    expect((await call(`/jobs/${jobId}`, { headers: client.headers })).status).toBe(200);

    expect((await admin("DELETE", `/admin/clients/${client.name}/keys/${client.keyId}`)).status).toBe(200);

    const jobsBefore = await rows(`SELECT * FROM jobs WHERE client = ? ORDER BY id`, client.name);
    const refused: [string, RequestInit][] = [
      ["/jobs", {}],
      [`/jobs/${jobId}`, {}],
      [`/logs/${jobId}`, {}],
      [`/jobs/${jobId}/callbacks`, {}],
      [`/jobs/${jobId}`, { method: "PATCH", body: JSON.stringify({ persist: true }) }],
      [`/jobs/${jobId}/rerun`, { method: "POST", body: "{}" }],
      [`/jobs/${jobId}/retry`, { method: "POST", body: "{}" }],
      ["/job", { method: "POST", body: JSON.stringify({ job: { workflow: "selftest" }, parameters: { content_id: "after-revoke" } }) }],
      ["/settings", { method: "POST", body: JSON.stringify({ name: "max_jobs", setting: "9" }) }],
      ["/health", {}],
      ["/dashboard", {}],
      ["/workflows", {}],
    ];
    for (const [path, init] of refused) {
      const response = await call(path, { ...init, headers: { ...client.headers, "content-type": "application/json" } });
      expect({ path, status: response.status, body: await response.json() }).toEqual({ path, status: 401, body: UNAUTHORISED });
    }
    expect(await rows(`SELECT * FROM jobs WHERE client = ? ORDER BY id`, client.name)).toEqual(jobsBefore);
    expect(await rows(`SELECT * FROM settings WHERE client = ?`, client.name)).toEqual([]);

    expect((await call(`/jobs/${jobId}`, { headers: second })).status).toBe(200);
    expect((await call("/jobs", { headers: owner.headers })).status).toBe(200);
    // Revoking the last key closes the client entirely.
    const keys = (await (await admin("GET", `/admin/clients/${client.name}`)).json()) as { keys: { key_id: string; revoked_at: string | null }[] };
    const active = keys.keys.filter((key) => key.revoked_at === null);
    expect(active).toHaveLength(1);
    expect((await admin("DELETE", `/admin/clients/${client.name}/keys/${active[0]!.key_id}`)).status).toBe(200);
    expect((await call(`/jobs/${jobId}`, { headers: second })).status).toBe(401);
  });
});
