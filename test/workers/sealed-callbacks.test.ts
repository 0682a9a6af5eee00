import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CHUNK_SIZE } from "../../src/coordinator/job-document";
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { call, coordinatorOf, createClient, interceptFetch, submitSelftest, waitFor, type RecordedRequest } from "./helpers";

/**
 * A callback's body is stored once and sent the same on every attempt, wherever it is kept: in the head row
 * while its delivery is under way, then in the chunk its delivery record is sealed into. A redelivery of a
 * callback sealed long ago, by a coordinator that has restarted since, sends the very bytes of the first
 * delivery.
 */

const HOOK = "https://cms.sealed.invalid/hook";
let received: RecordedRequest[];

beforeAll(() => {
  received = interceptFetch(() => new Response("ok"));
});

afterAll(() => {
  vi.restoreAllMocks();
});

describe("a callback sealed into a delivery chunk", () => {
  it("is redelivered with the same body after a restart", async () => {
    const headers = await createClient("sealed-client");
    // 20 fan-out tasks: 41 callbacks, more than one chunk of settled records.
    const jobId = await submitSelftest(headers, { content_id: "sealed", tasks: 20, shape: "fanout", rest_endpoints: [HOOK] });
    const ofJob = () => received.filter((request) => request.url === HOOK && request.body.includes(jobId));
    await waitFor(async () => ofJob(), (found) => found.length === 41);
    await waitFor(() => coordinatorOf(jobId).snapshot(), (found) => found!.outbox.every((entry) => entry.state === "delivered"));
    const first = ofJob()[0]!;
    const callbackId = first.headers.get("webhook-id")!;
    expect(41).toBeGreaterThan(CHUNK_SIZE);

    await evictDurableObject(env.JOB_COORDINATOR.get(env.JOB_COORDINATOR.idFromName(jobId)));
    const response = await call(`/jobs/${jobId}/callbacks/${callbackId}/redeliver`, { method: "POST", headers });
    expect(response.status).toBe(202);
    const again = await waitFor(async () => ofJob().slice(41), (found) => found.length === 1);
    expect(again[0]!.headers.get("webhook-id")).toBe(callbackId);
    expect(again[0]!.body).toBe(first.body);
  });
});
