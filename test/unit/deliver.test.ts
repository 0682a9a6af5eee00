import { describe, expect, it } from "vitest";
import { deliverCallback } from "../../src/queues/deliver";
import type { Deliverable } from "../../src/queues/messages";

/** One callback attempt as the receiver sees it: its headers, and what the attempt records. */
async function attempt(delivery: Deliverable, status = 200) {
  const seen: Request[] = [];
  const record = await deliverCallback(delivery, {
    fetch: async (input, init) => {
      seen.push(new Request(input, init));
      return new Response("ok", { status });
    },
    version: "1.2.3",
    timeoutMs: 1000,
  });
  return { request: seen[0]!, record };
}

const delivery: Deliverable = { jobId: "j", client: "c", id: "cb_j_1_0", attempt: 1, endpoint: "https://cms.example/hook", body: '{"a":1}' };

describe("a callback attempt", () => {
  it("posts the stored body with the engine's headers", async () => {
    const { request, record } = await attempt(delivery);
    expect(request.method).toBe("POST");
    expect(await request.text()).toBe('{"a":1}');
    expect(Object.fromEntries(request.headers)).toMatchObject({ "content-type": "application/json", "user-agent": "task-engine/1.2.3", "webhook-id": "cb_j_1_0" });
    expect(request.headers.has("task-engine-truncated")).toBe(false);
    expect(record).toMatchObject({ status: 200, error: null });
  });

  it("says when the body was cut down to the size limit, whatever shape a template gave it", async () => {
    const { request } = await attempt({ ...delivery, truncated: true });
    expect(request.headers.get("task-engine-truncated")).toBe("true");
  });
});
