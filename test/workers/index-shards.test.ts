import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callWithBindings, coordinatorOf, getJson, submitSelftest, waitFor, waitForJobEnd } from "./helpers";

/**
 * The job index on two D1 shards (ARCHITECTURE.md, "Capacity"): a client's shard is fixed when the operator
 * creates it; its jobs' index rows are written there and nowhere else, and its listing, counts and
 * dashboard read that shard alone. Two clients on two shards each see their own jobs; neither shard holds
 * the other's rows.
 */

const ADMIN_TOKEN = "shards-admin-token";
const operator = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

async function newClient(name: string, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await callWithBindings("/admin/clients", { method: "POST", headers: operator, body: JSON.stringify({ name, ...body }) }, { ADMIN_TOKEN });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function indexed(db: D1Database, client: string): Promise<string[]> {
  const { results } = await db.prepare(`SELECT id FROM jobs WHERE client = ? ORDER BY id`).bind(client).all<{ id: string }>();
  return results.map((row) => row.id);
}

describe("two job index shards", () => {
  it("index each client's jobs on its own shard, and list each client's jobs from it", async () => {
    const main = await newClient("shard-main", {});
    const second = await newClient("shard-second", { index_shard: 1 });
    expect([main.status, main.json.index_shard, second.status, second.json.index_shard]).toStrictEqual([201, 0, 201, 1]);
    const mainHeaders = { client: "shard-main", "api-key": main.json.api_key as string };
    const secondHeaders = { client: "shard-second", "api-key": second.json.api_key as string };

    const mainJobs = [await submitSelftest(mainHeaders, { content_id: "main-1", tasks: 1 }), await submitSelftest(mainHeaders, { content_id: "main-2", tasks: 1 })];
    const secondJobs = [await submitSelftest(secondHeaders, { content_id: "second-1", tasks: 1 })];
    for (const id of mainJobs) await waitForJobEnd(id, mainHeaders);
    for (const id of secondJobs) await waitForJobEnd(id, secondHeaders);

    // Each shard holds its own client's rows, and only those.
    await waitFor(() => indexed(env.JOB_INDEX_1, "shard-second"), (ids) => ids.length === 1);
    expect(await indexed(env.DB, "shard-main")).toStrictEqual([...mainJobs].sort());
    expect(await indexed(env.JOB_INDEX_1, "shard-second")).toStrictEqual(secondJobs);
    expect(await indexed(env.DB, "shard-second")).toStrictEqual([]);
    expect(await indexed(env.JOB_INDEX_1, "shard-main")).toStrictEqual([]);
    expect((await coordinatorOf(secondJobs[0]!).snapshot())!.spec.indexShard).toBe(1);

    // Listing, counts and the dashboard read the client's shard.
    const mainList = await getJson<{ id: string; queue_state: string }[]>("/jobs", mainHeaders);
    const secondList = await getJson<{ id: string; queue_state: string }[]>("/jobs", secondHeaders);
    expect(mainList.body.map((job) => job.id).sort()).toStrictEqual([...mainJobs].sort());
    expect(secondList.body.map((job) => [job.id, job.queue_state])).toStrictEqual([[secondJobs[0], "completed"]]);
    const health = await getJson<{ jobs: Record<string, number> }>("/health", secondHeaders);
    expect(health.body.jobs).toMatchObject({ completed: 1 });
    // A job is read from its coordinator whatever its shard.
    expect((await getJson<{ id: string }>(`/jobs/${secondJobs[0]}`, secondHeaders)).body.id).toBe(secondJobs[0]);
    expect((await getJson(`/jobs/${secondJobs[0]}`, mainHeaders)).status).toBe(404);
  });

  it("refuses a client on a shard this deployment does not bind, naming the bound ones", async () => {
    const refused = await newClient("shard-missing", { index_shard: 2 });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ code: "validation_failed", details: [{ path: "index_shard", message: "shard 2 is not bound here (bound shards: 0, 1)" }] });
  });
});
