import { describe, expect, it } from "vitest";
import { createClient, TaskEngineError } from "../../client/index.ts";

/** The typed client's own logic with a recording fetch (the e2e tier runs it against the engine). */
function recorder(answers: Response[]) {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input instanceof Request ? input.url : input), headers: Object.fromEntries(new Headers(init?.headers).entries()) });
    return answers.shift() ?? new Response("[]", { headers: { "content-type": "application/json" } });
  };
  return { calls, fetch: fetch as typeof globalThis.fetch };
}

describe("task-engine/client", () => {
  it("sends each API its own credentials, also for an engine under a path prefix, and follows the Link cursor there", async () => {
    const { calls, fetch } = recorder([
      new Response("{}", { headers: { "content-type": "application/json" } }),
      new Response(JSON.stringify([{ id: "A" }]), { headers: { "content-type": "application/json", link: '</jobs?limit=1&cursor=c1>; rel="next"' } }),
      new Response(JSON.stringify([{ id: "B" }]), { headers: { "content-type": "application/json" } }),
    ]);
    const api = createClient({ baseUrl: "https://host.example/engine/", client: "acme", apiKey: "tek_1", adminToken: "adm_1", workerToken: "wkr_1", fetch });
    await api.admin.getAdminClientsByName("acme");
    const ids: string[] = [];
    for await (const job of api.iterateJobs({ limit: 1, workflow: "selftest" })) ids.push(job.id);
    expect(ids).toEqual(["A", "B"]);
    expect(calls.map((call) => call.url)).toEqual(["https://host.example/engine/admin/clients/acme", "https://host.example/engine/jobs?limit=1&workflow=selftest", "https://host.example/engine/jobs?limit=1&cursor=c1"]);
    expect(calls[0]!.headers).toMatchObject({ authorization: "Bearer adm_1" });
    expect(calls[0]!.headers).not.toHaveProperty("api-key");
    expect(calls[1]!.headers).toMatchObject({ client: "acme", "api-key": "tek_1" });
  });

  it("turns any answer that is not a 2xx into one TaskEngineError, whatever its body", async () => {
    const { fetch } = recorder([
      new Response(JSON.stringify({ error: "No such job.", code: "not_found" }), { status: 404, headers: { "x-request-id": "req-1" } }),
      new Response("null", { status: 500 }),
      new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }),
    ]);
    const api = createClient({ baseUrl: "http://engine.test", client: "c", apiKey: "k", fetch });
    const errors = [];
    for (let i = 0; i < 3; i++) errors.push(await api.jobs.getJobsById("X").catch((error: unknown) => error));
    expect(errors.every((error) => error instanceof TaskEngineError)).toBe(true);
    expect(errors.map((error) => [(error as TaskEngineError).status, (error as TaskEngineError).code])).toEqual([[404, "not_found"], [500, "http_500"], [502, "http_502"]]);
    expect((errors[0] as TaskEngineError).requestId).toBe("req-1");
  });
});
