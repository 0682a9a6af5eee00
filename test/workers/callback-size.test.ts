import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_CALLBACK_BODY_BYTES } from "../../src/domain/callback-size";
import { callWithBindings, createClient, interceptFetch, postJson, rows, waitFor, type RecordedRequest } from "./helpers";

/**
 * Callback bodies are bounded (P5 item 9): a body template that repeats `{{custom_data}}` cannot turn a
 * 250 KB custom_data into a multi-megabyte signed callback. The job is refused at submission (400) and
 * nothing is created; within the limit the same template is accepted and sent.
 */

const ADMIN_TOKEN = "admin-token-for-callback-size";
const HOOK = "https://cms.size.invalid/hook";
let headers: Record<string, string>;
let received: RecordedRequest[];

beforeAll(async () => {
  received = interceptFetch(() => new Response("ok"));
  headers = await createClient("size-client");
  const template = { copies: Array.from({ length: 16 }, () => "{{custom_data}}"), id: "{{job_id}}" };
  const response = await callWithBindings(
    "/admin/clients/size-client/config",
    { method: "PUT", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ callback_rules: [{ prefix: "https://cms.size.invalid/", body_template: template }] }) },
    { ADMIN_TOKEN },
  );
  expect(response.status).toBe(200);
});

afterAll(() => {
  vi.restoreAllMocks();
});

describe("callback body limit", () => {
  it("refuses a job whose templated callbacks would pass the limit, naming the endpoint, and creates nothing", async () => {
    const custom_data = { blob: "x".repeat(250_000) };
    const response = await postJson("/job", { job: { workflow: "selftest" }, parameters: { content_id: "big", tasks: 1, rest_endpoints: [HOOK], custom_data } }, headers);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: string; details: { path: string; message: string }[] };
    expect(body.code).toBe("validation_failed");
    expect(body.details[0]!.path).toBe("parameters.rest_endpoints[0]");
    expect(body.details[0]!.message).toMatch(/over the 1 MiB limit/);
    expect(await rows(`SELECT id FROM jobs WHERE client = 'size-client'`)).toStrictEqual([]);
  });

  it("sends the same template when the job's fields keep it under the limit", async () => {
    const custom_data = { blob: "y".repeat(1000) };
    const response = await postJson("/job", { job: { workflow: "selftest" }, parameters: { content_id: "small", tasks: 1, rest_endpoints: [HOOK], custom_data } }, headers);
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const jobEnd = await waitFor(
      async () => received.filter((request) => request.url === HOOK).map((request) => request.body).find((text) => text.includes(id) && text.includes("yyyy")),
      (found) => found !== undefined,
    );
    expect(new TextEncoder().encode(jobEnd!).byteLength).toBeLessThan(MAX_CALLBACK_BODY_BYTES);
    expect(JSON.parse(jobEnd!)).toStrictEqual({ copies: Array(16).fill(custom_data), id });
  });
});
