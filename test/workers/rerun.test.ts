import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { INDEX_DELAY_MS } from "../../src/coordinator/index-writer";
import { call, createClient, jobObject, postJson, rows, submitSelftest, waitForJobEnd } from "./helpers";

/**
 * POST /jobs/{id}/rerun is safe to repeat (P5 item 7): a job has one replacement. The first rerun answers
 * 202 with it, every other rerun of that job (concurrent or later) 200 with the same one; Idempotency-Key
 * names a rerun like a submission.
 */

interface RerunBody {
  id: string;
  job_id: string;
  result: string;
  rerun_of: string;
}

function rerun(id: string, headers: Record<string, string>, key?: string): Promise<Response> {
  return call(`/jobs/${id}/rerun`, { method: "POST", headers: { ...headers, ...(key === undefined ? {} : { "idempotency-key": key }) } });
}

/** The jobs that name `id` as the job they rerun, in the D1 job index once every job made so far is in it. */
async function replacementsOf(id: string): Promise<string[]> {
  await new Promise((resolve) => setTimeout(resolve, 2 * INDEX_DELAY_MS));
  return (await rows<{ id: string }>(`SELECT id FROM jobs WHERE rerun_of = ? ORDER BY id`, id)).map((row) => row.id);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST /jobs/{id}/rerun", () => {
  it("ten concurrent reruns of one job make one new job: one 202, nine 200, all naming it", async () => {
    const headers = await createClient("rerun-concurrent");
    const original = await submitSelftest(headers, { content_id: "r1", tasks: 1 });
    await waitForJobEnd(original, headers);
    const responses = await Promise.all(Array.from({ length: 10 }, () => rerun(original, headers)));
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as RerunBody[];
    expect(responses.map((response) => response.status).sort()).toStrictEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
    const replacement = bodies[0]!.id;
    for (const body of bodies) expect(body).toStrictEqual({ id: replacement, job_id: replacement, result: "accepted", rerun_of: original });
    expect(await replacementsOf(original)).toStrictEqual([replacement]);
    expect(await waitForJobEnd(replacement, headers)).toMatchObject({ queue_state: "completed", failed: false });
    expect((await jobObject(original, headers)).queue_state).toBe("broken");
  });

  it("a rerun of a job already replaced answers with its replacement; the replacement can be rerun in turn", async () => {
    const headers = await createClient("rerun-repeat");
    const original = await submitSelftest(headers, { content_id: "r2", tasks: 1 });
    await waitForJobEnd(original, headers);
    const first = await rerun(original, headers);
    expect(first.status).toBe(202);
    const { id: replacement } = (await first.json()) as RerunBody;
    await waitForJobEnd(replacement, headers);
    const again = await rerun(original, headers);
    expect(again.status).toBe(200);
    expect(((await again.json()) as RerunBody).id).toBe(replacement);
    expect(await replacementsOf(original)).toStrictEqual([replacement]);

    const next = await rerun(replacement, headers);
    expect(next.status).toBe(202);
    const { id: third } = (await next.json()) as RerunBody;
    expect(third).not.toBe(replacement);
    expect(await replacementsOf(replacement)).toStrictEqual([third]);
  });

  it("honours Idempotency-Key: the same key answers the same rerun; the key on another job is a 409; a bad key a 400", async () => {
    const headers = await createClient("rerun-keyed");
    const [a, b] = [await submitSelftest(headers, { content_id: "a", tasks: 1 }), await submitSelftest(headers, { content_id: "b", tasks: 1 })];
    await waitForJobEnd(a, headers);
    await waitForJobEnd(b, headers);
    const first = await rerun(a, headers, "rerun-a-1");
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as RerunBody;
    const replay = await rerun(a, headers, "rerun-a-1");
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as RerunBody).id).toBe(id);
    const other = await rerun(b, headers, "rerun-a-1");
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ code: "conflict" });
    expect(await replacementsOf(b)).toStrictEqual([]);
    expect((await jobObject(b, headers)).queue_state).toBe("completed");
    const bad = await rerun(b, headers, "two words");
    expect(bad.status).toBe(400);
    expect(await replacementsOf(b)).toStrictEqual([]);
  });

  it("a rerun cut short after it named the replacement is finished by the next one, under the same id", async () => {
    const headers = await createClient("rerun-crash");
    const original = await submitSelftest(headers, { content_id: "c", tasks: 1 });
    await waitForJobEnd(original, headers);
    // The replacement's coordinator fails its first `create`, as if the runtime died right after `rerunAs`.
    const get = env.JOB_COORDINATOR.get.bind(env.JOB_COORDINATOR);
    const originalId = env.JOB_COORDINATOR.idFromName(original);
    let failed = false;
    vi.spyOn(env.JOB_COORDINATOR, "get").mockImplementation((id) => {
      const stub = get(id);
      if (id.equals(originalId) || failed) return stub;
      return new Proxy(stub, {
        get: (target, name) => (name === "create" ? () => ((failed = true), Promise.reject(new Error("the runtime died"))) : Reflect.get(target, name)),
      });
    });
    const cut = await rerun(original, headers);
    expect(cut.status).toBe(500);
    expect(await replacementsOf(original)).toStrictEqual([]);
    vi.restoreAllMocks();
    const again = await rerun(original, headers);
    expect(again.status).toBe(202);
    const { id } = (await again.json()) as RerunBody;
    expect(await replacementsOf(original)).toStrictEqual([id]);
    expect(await waitForJobEnd(id, headers)).toMatchObject({ queue_state: "completed" });
    expect((await rerun(original, headers)).status).toBe(200);
  });

  it("is refused for another client's job exactly like an unknown one", async () => {
    const owner = await createClient("rerun-owner");
    const stranger = await createClient("rerun-stranger");
    const job = await submitSelftest(owner, { content_id: "o", tasks: 1 });
    await waitForJobEnd(job, owner);
    const refused = await postJson(`/jobs/${job}/rerun`, {}, stranger);
    expect(refused.status).toBe(404);
    expect(await replacementsOf(job)).toStrictEqual([]);
  });
});
