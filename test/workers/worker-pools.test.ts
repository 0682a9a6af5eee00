import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { LeaseAsk } from "../../src/protocol/pool";
import { call, callWithBindings, createClient, expireTaskDeadline, jobObject, postJson, runScheduled, submitSelftest, waitFor, waitForJobEnd } from "./helpers";

/**
 * Remote workers (workers.md) inside workerd: pool tokens from the operator API, the lease long poll, heartbeats,
 * reports and the file API, against the real coordinator and WorkerPool objects. The reference worker process
 * and media workflows are tested end to end in test/e2e.
 */

const ADMIN_TOKEN = "admin-token-for-worker-tests";

interface Lease {
  lease_id: string;
  job_id: string;
  task: string;
  attempt: number;
  executor: string;
  input: Record<string, unknown>;
  deadline: string;
  heartbeat_s: number;
  files: Record<string, { read: boolean; write: boolean }>;
}

async function newToken(pool: string, client?: string): Promise<{ token: string; token_id: string }> {
  const response = await callWithBindings(
    `/admin/pools/${pool}/tokens`,
    { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ label: "test", ...(client ? { client } : {}) }) },
    { ADMIN_TOKEN },
  );
  expect(response.status).toBe(201);
  return (await response.json()) as { token: string; token_id: string };
}

function workerCall(path: string, token: string, body?: unknown, method = "POST"): Promise<Response> {
  return call(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function lease(token: string, pool: string, wait_s = 0, extra: Record<string, unknown> = {}): Promise<Lease[]> {
  const response = await workerCall("/workers/lease", token, { pool, worker_id: "w1", label: "host-1", wait_s, ...extra });
  if (response.status === 204) return [];
  expect(response.status).toBe(200);
  return ((await response.json()) as { leases: Lease[] }).leases;
}

describe("a job whose tasks run on a pool", () => {
  it("is leased task by task, heartbeats show progress, reports complete it; repeated reports answer 200, late ones 409", async () => {
    const headers = await createClient("pool-chain");
    const { token } = await newToken("media");
    const id = await submitSelftest(headers, { content_id: "remote-1", tasks: 2, runs_on: "media", task_ms: 60_000 });
    const [first, ...more] = await waitFor(() => lease(token, "media", 1), (leases) => leases.length > 0);
    expect(more).toEqual([]);
    expect(first).toMatchObject({ job_id: id, task: "task_1", attempt: 1, executor: "selftest.wait", input: { task_ms: 60_000, fail_times: 0 }, heartbeat_s: 20, files: { output: { read: true, write: true } } });
    expect(first!.lease_id).toMatch(/^lse_/);
    expect((await jobObject(id, headers)).tasks![0]).toMatchObject({ state: "running" });

    const beat = await workerCall(`/workers/leases/${first!.lease_id}/heartbeat`, token, { progress: 50, phase: "waiting" });
    expect(beat.status).toBe(200);
    const answer = (await beat.json()) as { deadline: string; cancel: boolean };
    expect(answer.cancel).toBe(false);
    // A lease time (60 s) from now: the task's timeout (70 s) is further off.
    expect(Date.parse(answer.deadline)).toBeGreaterThan(Date.now() + 50_000);
    expect(Date.parse(answer.deadline)).toBeLessThanOrEqual(Date.now() + 60_000);
    const during = await jobObject(id, headers);
    expect(during.tasks![0]!.progress).toBe(50);
    expect(during.progress).toBe(25);

    expect((await workerCall(`/workers/leases/${first!.lease_id}/complete`, token, { output: { waited_ms: 5 } })).status).toBe(200);
    expect((await workerCall(`/workers/leases/${first!.lease_id}/complete`, token, { output: { waited_ms: 5 } })).status).toBe(200);
    expect((await workerCall(`/workers/leases/${first!.lease_id}/fail`, token, { error: "late", retryable: true })).status).toBe(409);
    const ended = await workerCall(`/workers/leases/${first!.lease_id}/heartbeat`, token, {});
    expect(await ended.json()).toEqual({ deadline: null, cancel: true });

    const [second] = await waitFor(() => lease(token, "media", 1), (leases) => leases.length > 0);
    expect(second).toMatchObject({ task: "task_2", attempt: 1 });
    expect((await workerCall(`/workers/leases/${second!.lease_id}/complete`, token, { output: null })).status).toBe(200);
    const done = await waitFor(() => jobObject(id, headers), (job) => job.queue_state === "completed");
    expect(done).toMatchObject({ failed: false, progress: 100 });
  });

  it("answers a long poll as soon as a task is offered", async () => {
    const headers = await createClient("pool-long-poll");
    const { token } = await newToken("long-poll");
    const asked = Date.now();
    const polling = lease(token, "long-poll", 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const id = await submitSelftest(headers, { content_id: "remote-2", tasks: 1, runs_on: "long-poll" });
    const [got] = await polling;
    expect(got).toMatchObject({ job_id: id, task: "task_1" });
    expect(Date.now() - asked).toBeLessThan(5_000);
  });

  it("a failed report retries per policy: the task is offered again as a new attempt", async () => {
    const headers = await createClient("pool-fail");
    await postJson("/settings", { name: "retry_delay", setting: "0" }, headers);
    const { token } = await newToken("fails");
    const id = await submitSelftest(headers, { content_id: "remote-3", tasks: 1, runs_on: "fails" });
    const [first] = await waitFor(() => lease(token, "fails", 1), (leases) => leases.length > 0);
    expect((await workerCall(`/workers/leases/${first!.lease_id}/fail`, token, { error: "ffmpeg exited with 1", retryable: true })).status).toBe(200);
    const [second] = await waitFor(() => lease(token, "fails", 1), (leases) => leases.length > 0);
    expect(second).toMatchObject({ job_id: id, task: "task_1", attempt: 2 });
    expect((await workerCall(`/workers/leases/${second!.lease_id}/complete`, token, {})).status).toBe(200);
    await waitFor(() => jobObject(id, headers), (job) => job.queue_state === "completed");
  });

  it("a lease that ends without a heartbeat is taken back: its late report answers 409, a new attempt is offered", async () => {
    const headers = await createClient("pool-lost");
    await postJson("/settings", { name: "retry_delay", setting: "0" }, headers);
    const { token } = await newToken("lost");
    const id = await submitSelftest(headers, { content_id: "remote-4", tasks: 1, runs_on: "lost" });
    const [first] = await waitFor(() => lease(token, "lost", 1), (leases) => leases.length > 0);
    await expireTaskDeadline(id, "task_1");
    await waitFor(() => jobObject(id, headers), (job) => job.tasks![0]!.state !== "running");
    await call(`/jobs/${id}`, { headers }); // wakes the coordinator; its alarm offers the retry
    const [second] = await waitFor(() => lease(token, "lost", 1), (leases) => leases.length > 0, 15_000);
    expect(second).toMatchObject({ task: "task_1", attempt: 2 });
    const late = await workerCall(`/workers/leases/${first!.lease_id}/complete`, token, {});
    expect(late.status).toBe(409);
    expect((await workerCall(`/workers/leases/${second!.lease_id}/complete`, token, {})).status).toBe(200);
    const job = await waitFor(() => jobObject(id, headers), (found) => found.queue_state === "completed");
    expect(job.tasks![0]).toMatchObject({ state: "completed", attempts: 2 });
  });

  it("a job broken while its task is leased: the next heartbeat answers cancel, the report 409", async () => {
    const headers = await createClient("pool-broken");
    const { token } = await newToken("broken");
    const id = await submitSelftest(headers, { content_id: "remote-5", tasks: 1, runs_on: "broken" });
    const [leased] = await waitFor(() => lease(token, "broken", 1), (leases) => leases.length > 0);
    const patch = await call(`/jobs/${id}`, { method: "PATCH", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ queue_state: "broken" }) });
    expect(patch.status).toBe(200);
    const beat = await workerCall(`/workers/leases/${leased!.lease_id}/heartbeat`, token, { progress: 10 });
    expect(await beat.json()).toMatchObject({ cancel: true });
    expect((await workerCall(`/workers/leases/${leased!.lease_id}/complete`, token, {})).status).toBe(409);
  });
});

describe("submitting a job with tasks on a pool", () => {
  it("is refused when no active token of that pool can lease the client's tasks", async () => {
    const headers = await createClient("pool-submit");
    const refused = await postJson("/job", { job: { workflow: "selftest" }, parameters: { content_id: "x", runs_on: "nobody-here" } }, headers);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ details: [{ path: "parameters.runs_on", message: expect.stringContaining("no worker can take this job's tasks of pool 'nobody-here'") }] });
    await createClient("pool-submit-other");
    await newToken("someone-else", "pool-submit-other");
    expect((await postJson("/job", { job: { workflow: "selftest" }, parameters: { content_id: "x", runs_on: "someone-else" } }, headers)).status).toBe(400);
    await newToken("nobody-here");
    expect((await postJson("/job", { job: { workflow: "selftest" }, parameters: { content_id: "x", runs_on: "nobody-here" } }, headers)).status).toBe(202);
  });
});

describe("the worker API's security", () => {
  it("a pool's token leases that pool only; a client-scoped token never sees another client's task", async () => {
    const alpha = await createClient("pool-alpha");
    const beta = await createClient("pool-beta");
    const { token: poolToken } = await newToken("scoped");
    const { token: betaOnly } = await newToken("scoped", "pool-beta");
    const { token: otherPool } = await newToken("elsewhere");
    expect((await workerCall("/workers/lease", otherPool, { pool: "scoped", worker_id: "w", wait_s: 0 })).status).toBe(403);
    const alphaJob = await submitSelftest(alpha, { content_id: "a", tasks: 1, runs_on: "scoped" });
    // The offer reaches the pool a moment after the 202.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await lease(betaOnly, "scoped", 0)).toEqual([]);
    const betaJob = await submitSelftest(beta, { content_id: "b", tasks: 1, runs_on: "scoped" });
    const [forBeta] = await waitFor(() => lease(betaOnly, "scoped", 1), (leases) => leases.length > 0);
    expect(forBeta!.job_id).toBe(betaJob);
    const [forAny] = await waitFor(() => lease(poolToken, "scoped", 1), (leases) => leases.length > 0);
    expect(forAny!.job_id).toBe(alphaJob);
    // Another pool's token (or a scoped token of another client) cannot act on the lease.
    expect((await workerCall(`/workers/leases/${forAny!.lease_id}/heartbeat`, otherPool, {})).status).toBe(404);
    expect((await workerCall(`/workers/leases/${forAny!.lease_id}/complete`, betaOnly, {})).status).toBe(404);
    // A forged lease id (right address, wrong secret) is unknown.
    const forged = forAny!.lease_id.replace(/\.[A-Za-z0-9_-]{43}$/, `.${"A".repeat(43)}`);
    expect((await workerCall(`/workers/leases/${forged}/complete`, poolToken, {})).status).toBe(404);
  });

  it("refuses what is not a live pool token: API keys, lease ids, admin tokens, revoked tokens (at once)", async () => {
    const headers = await createClient("pool-auth");
    const { token, token_id } = await newToken("auth");
    const id = await submitSelftest(headers, { content_id: "auth", tasks: 1, runs_on: "auth" });
    const [leased] = await waitFor(() => lease(token, "auth", 1), (leases) => leases.length > 0);
    for (const wrong of [headers["api-key"]!, leased!.lease_id, ADMIN_TOKEN, `${token}x`, "wkr_"]) {
      expect((await workerCall("/workers/lease", wrong, { pool: "auth", worker_id: "w", wait_s: 0 })).status, wrong.slice(0, 8)).toBe(401);
    }
    // A lease id is no API key either.
    expect((await call(`/jobs/${id}`, { headers: { client: "pool-auth", "api-key": leased!.lease_id } })).status).toBe(401);
    const revoked = await callWithBindings(`/admin/pools/auth/tokens/${token_id}`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, { ADMIN_TOKEN });
    expect(revoked.status).toBe(200);
    expect((await workerCall(`/workers/leases/${leased!.lease_id}/heartbeat`, token, {})).status).toBe(401);
  });

  it("lists a pool's workers, waiting tasks and tokens to the operator (never a token's secret)", async () => {
    const headers = await createClient("pool-view");
    const { token, token_id } = await newToken("view");
    await lease(token, "view", 0, { worker_id: "encoder-7", label: "rack-3", holding: 2 });
    await submitSelftest(headers, { content_id: "v", tasks: 2, shape: "fanout", runs_on: "view" });
    const view = await waitFor(
      async () => (await (await callWithBindings("/admin/pools/view", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, { ADMIN_TOKEN })).json()) as {
        workers: { worker_id: string; label: string; leases_held: number }[];
        waiting: { task: string; client: string }[];
        tokens: { token_id: string }[];
      },
      (body) => body.waiting.length === 2,
    );
    expect(view.workers).toMatchObject([{ worker_id: "encoder-7", label: "rack-3", leases_held: 2 }]);
    expect(view.waiting.map((task) => [task.task, task.client])).toEqual([["task_1", "pool-view"], ["task_2", "pool-view"]]);
    expect(view.tokens).toMatchObject([{ token_id }]);
    expect(JSON.stringify(view)).not.toContain(token.slice(-43));
  });
});

describe("the file API of a lease", () => {
  it("stores, lists and serves files of the job's work folder (Range honoured), within the lease's roots only", async () => {
    const headers = await createClient("pool-files");
    const { token } = await newToken("files");
    await submitSelftest(headers, { content_id: "f", tasks: 1, runs_on: "files" });
    const [leased] = await waitFor(() => lease(token, "files", 1), (leases) => leases.length > 0);
    const base = `/workers/leases/${leased!.lease_id}/files`;
    const put = await call(`${base}/output/frames/frame 1.txt`, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" }, body: "0123456789" });
    expect(put.status).toBe(201);
    expect(await put.json()).toMatchObject({ path: "frames/frame 1.txt", size: 10 });
    const whole = await call(`${base}/output/frames/frame%201.txt`, { headers: { authorization: `Bearer ${token}` } });
    expect([whole.status, await whole.text()]).toEqual([200, "0123456789"]);
    const part = await call(`${base}/output/frames/frame%201.txt`, { headers: { authorization: `Bearer ${token}`, range: "bytes=2-4" } });
    expect([part.status, part.headers.get("content-range"), await part.text()]).toEqual([206, "bytes 2-4/10", "234"]);
    const listing = await call(`${base}/output/?prefix=frames/`, { headers: { authorization: `Bearer ${token}` } });
    expect(await listing.json()).toEqual({ files: [{ path: "frames/frame 1.txt", size: 10 }] });
    // Encoded separators, controls and empty segments are refused; dot segments are resolved by URL parsing
    // before routing, so they either miss the route (404, or 415 where no route takes a raw body) or stay below the root. Nothing lands outside it.
    for (const bad of ["a//b", "%2Fabs", "a%5Cb", "%00x", "a%2F%2E%2E%2Fb", "%2E%2E%2Fescape"]) {
      const response = await call(`${base}/output/${bad}`, { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: "x" });
      expect(response.status, bad).toBe(400);
    }
    for (const dotted of ["%2e%2e/escape.txt", "a/%2E%2E/b", "a/./c", "../../../x"]) {
      const response = await call(`${base}/output/${dotted}`, { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: "x" });
      expect([201, 400, 404, 415], dotted).toContain(response.status);
    }
    // Everything it stored is in its own attempt's folder of the job's work folder.
    const stored = await env.MEDIA.list({ limit: 1000 });
    expect(stored.objects.map((object) => object.key).filter((key) => !key.startsWith(`work/${leased!.job_id}/task_1/1/`))).toEqual([]);
    expect((await call(`${base}/output/frames/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(400);
    const ranged = async (range: string) => {
      const response = await call(`${base}/output/frames/frame%201.txt`, { headers: { authorization: `Bearer ${token}`, range } });
      return [response.status, response.headers.get("content-range"), await response.text()];
    };
    expect(await ranged("bytes=7-")).toEqual([206, "bytes 7-9/10", "789"]);
    expect(await ranged("bytes=-3")).toEqual([206, "bytes 7-9/10", "789"]);
    expect(await ranged("bytes=8-100")).toEqual([206, "bytes 8-9/10", "89"]);
    expect((await ranged("bytes=10-12")).slice(0, 2)).toEqual([416, "bytes */10"]);
    // Ranges it does not serve in part (several, reversed, other units) get the whole file.
    for (const whole of ["bytes=0-1,4-5", "bytes=5-2", "items=0-1", "bytes=x-y"]) expect(await ranged(whole), whole).toEqual([200, null, "0123456789"]);
    expect((await call(`${base}/source/x.txt`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    expect((await call(`${base}/output/missing.txt`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    expect((await workerCall(`/workers/leases/${leased!.lease_id}/complete`, token, {})).status).toBe(200);
    // The lease ended: its files are out of reach.
    expect((await call(`${base}/output/frames/frame%201.txt`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(409);
  });
});

describe("the WorkerPool object", () => {
  const offer = (task: string, attempt = 1) => ({ jobId: "job-pool-1", task, attempt, client: "c", priority: 1, submittedAt: 1 });
  const ask = (extra: Partial<LeaseAsk> = {}): LeaseAsk => ({ workerId: "w", label: "", tokenId: "t", client: null, max: 8, waitMs: 0, holding: 0, ...extra });

  it("holds a handed-out offer until the worker API settles it; unsettled, it is offered again after its handoff", async () => {
    const stub = env.WORKER_POOL.get(env.WORKER_POOL.idFromName("handoff-test"));
    await stub.offer([offer("a"), offer("b")]);
    const handedOut = await stub.lease(ask());
    expect(handedOut.map((taken) => taken.task)).toEqual(["a", "b"]);
    expect(await stub.lease(ask())).toEqual([]);
    await stub.settle([handedOut[0]!]);
    // The handoff of b passes (its worker API call died before it could claim or settle).
    await runInDurableObject(stub, (_pool, state) => void state.storage.sql.exec(`UPDATE offers SET handed_until = ?`, Date.now() - 1));
    const [handed] = await stub.lease(ask());
    expect(handed).toMatchObject({ task: "b", attempt: 1 });
    // An offer made again while it is handed out (a resumed job) waits again: settling the old handout keeps it.
    await stub.offer([offer("b")]);
    await stub.settle([handed!]);
    expect((await stub.lease(ask())).map((taken) => taken.task)).toEqual(["b"]);
    // A newer attempt of a handed-out task is a new offer, at once.
    await stub.offer([offer("b", 2)]);
    expect(await stub.lease(ask())).toMatchObject([{ task: "b", attempt: 2 }]);
  });

  it("ends an abandoned poll at once, without taking what is offered afterwards", async () => {
    const stub = env.WORKER_POOL.get(env.WORKER_POOL.idFromName("abandon-test"));
    const started = Date.now();
    const poll = stub.lease(ask({ waitMs: 10_000, pollId: "poll-1" }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await stub.abandon("poll-1");
    expect(await poll).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
    await stub.offer([offer("later")]);
    expect((await stub.lease(ask())).map((taken) => taken.task)).toEqual(["later"]);
  });
});

describe("retention of a media job", () => {
  it("removes what its worker left in the job's work folder when no publish took it (the job failed)", async () => {
    const headers = await createClient("pool-retention");
    // Its own pool (the client's mapping), and R2 storage for the media workflow's publish.
    const config = { pools: { media: "retention" }, storage: { default: "R2", locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "vod" } } } } };
    await env.DB.prepare(`UPDATE clients SET config = ? WHERE name = ?`).bind(JSON.stringify(config), "pool-retention").run();
    const { token } = await newToken("retention");
    const response = await postJson("/job", { job: { workflow: "capture_frame" }, parameters: { content_id: "r", source: "https://media.example.com/r/master.m3u8", frame_time: 1, output_folder: "r", image_filename: "r.jpg" } }, headers);
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const [leased] = await waitFor(() => lease(token, "retention", 1), (leases) => leases.length > 0);
    expect(leased).toMatchObject({ job_id: id, task: "capture_frame", executor: "media.capture_frame", input: { source: "https://media.example.com/r/master.m3u8", frame_time: 1, image_filename: "r.jpg" } });
    const put = await call(`/workers/leases/${leased!.lease_id}/files/output/capture_frame/r.jpg`, { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: "jpeg" });
    expect(put.status).toBe(201);
    expect((await workerCall(`/workers/leases/${leased!.lease_id}/fail`, token, { error: "no frame", retryable: false })).status).toBe(200);
    await waitForJobEnd(id, headers);
    expect((await env.MEDIA.list({ prefix: `work/${id}/` })).objects).toHaveLength(1);
    const then = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await env.DB.prepare(`UPDATE jobs SET created_at = ?, updated_at = ? WHERE id = ?`).bind(then, then, id).run();
    await runScheduled(Date.now());
    expect((await env.MEDIA.list({ prefix: `work/${id}/` })).objects).toEqual([]);
    expect(await env.DB.prepare(`SELECT id FROM jobs WHERE id = ?`).bind(id).first()).toBeNull();
  });
});

describe("a lease's source root", () => {
  it("reads the declared folder of the client's storage, read-only, and nothing beside it", async () => {
    const headers = await createClient("pool-source");
    const config = { pools: { media: "source-pool" }, storage: { default: "R2", locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "src-vod", input_root: "src-in" } } } } };
    await env.DB.prepare(`UPDATE clients SET config = ? WHERE name = ?`).bind(JSON.stringify(config), "pool-source").run();
    await env.MEDIA.put("src-in/asset/a.mp4", "video bytes");
    await env.MEDIA.put("src-in/asset/b.ts", "more");
    // A subfolder (an earlier run's package) and an earlier output are not sources.
    await env.MEDIA.put("src-in/asset/pkg/video_0/init.mp4", "segment");
    await env.MEDIA.put("src-in/asset/s.mp4", "an earlier createmp4 output");
    await env.MEDIA.put("src-in/other/secret.mp4", "not yours");
    const { token } = await newToken("source-pool");
    const response = await postJson("/job", { job: { workflow: "createmp4" }, parameters: { content_id: "s", source_folder: "asset" } }, headers);
    expect(response.status).toBe(202);
    const [leased] = await waitFor(() => lease(token, "source-pool", 1), (leases) => leases.length > 0, 15_000);
    expect(leased).toMatchObject({ task: "create_mp4", files: { output: { read: true, write: true }, source: { read: true, write: false } } });
    expect(leased!.input).toMatchObject({ sources: [{ path: "a.mp4", size: 11 }, { path: "b.ts", size: 4 }], mp4_filename: "s.mp4", mezzanine: false });
    const base = `/workers/leases/${leased!.lease_id}/files/source`;
    const auth = { authorization: `Bearer ${token}` };
    expect(await (await call(`${base}/a.mp4`, { headers: auth })).text()).toBe("video bytes");
    expect((await (await call(`${base}/`, { headers: auth })).json()) as unknown).toEqual({
      files: [{ path: "a.mp4", size: 11 }, { path: "b.ts", size: 4 }, { path: "pkg/video_0/init.mp4", size: 7 }, { path: "s.mp4", size: 27 }],
    });
    expect((await call(`${base}/a.mp4`, { method: "PUT", headers: auth, body: "overwrite" })).status).toBe(403);
    expect(await (await env.MEDIA.get("src-in/asset/a.mp4"))!.text()).toBe("video bytes");
    expect((await call(`${base}/${"x".repeat(1020)}`, { headers: auth })).status).toBe(400);
    expect((await call(`${base}/%2E%2E%2Fother%2Fsecret.mp4`, { headers: auth })).status).toBe(400);
    expect((await call(`${base}/missing.mp4`, { headers: auth })).status).toBe(404);
  });
});
