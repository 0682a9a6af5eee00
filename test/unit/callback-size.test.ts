import { describe, expect, it } from "vitest";
import { applyTemplate } from "../../src/domain/body-template";
import { boundedBody, MAX_CALLBACK_BODY_BYTES, templateOverflows, utf8Bytes } from "../../src/domain/callback-size";
import { ClientConfig } from "../../src/domain/client-config";

const job = { job_id: "01JOB", status: "completed", workflow: "voddelete", content_id: "c", custom_data: { ref: "r" }, time: "2026-11-30T00:00:00.000Z", client: "x", sequence: 3, message: "demo1" };
const asIs = (fields: Record<string, unknown>) => fields;

describe("callback bodies are bounded", () => {
  it("sends a body under the limit exactly as rendered", () => {
    expect(boundedBody(job, asIs)).toBe(JSON.stringify(job));
    const template = { id: "{{job_id}}", ok: "{{status}}" };
    expect(boundedBody(job, (fields) => applyTemplate(template, fields))).toBe('{"id":"01JOB","ok":"completed"}');
  });

  it("clips a list that only the result inflates (files of a huge folder) to what fits, and says so", () => {
    const files = Array.from({ length: 60_000 }, (_, i) => `content/vod/big/segment-${String(i).padStart(6, "0")}.m4s`);
    const text = boundedBody({ ...job, files }, asIs);
    expect(utf8Bytes(text)).toBeLessThanOrEqual(MAX_CALLBACK_BODY_BYTES);
    const body = JSON.parse(text) as { files: string[]; truncated: boolean; job_id: string; message: string };
    expect(body).toMatchObject({ job_id: "01JOB", message: "demo1", truncated: true });
    expect(body.files).toStrictEqual(files.slice(0, body.files.length));
    // As many as fit: one more would not.
    expect(utf8Bytes(JSON.stringify({ ...body, files: files.slice(0, body.files.length + 1) }))).toBeGreaterThan(MAX_CALLBACK_BODY_BYTES);
  });

  it("falls back to the identity fields and the start of the message when nothing else fits", () => {
    const text = boundedBody({ ...job, message: "m".repeat(2_000_000) }, asIs);
    expect(JSON.parse(text)).toStrictEqual({ job_id: "01JOB", workflow: "voddelete", status: "completed", content_id: "c", time: job.time, client: "x", sequence: 3, message: "m".repeat(1000), truncated: true });
  });

  it("refuses at submission a template that would repeat a large custom_data past the limit", () => {
    const template = { a: "{{custom_data}}", b: "{{custom_data}}", c: "{{custom_data}}", d: "{{custom_data}}", e: "{{custom_data}}" };
    const sample = { ...job, custom_data: { blob: "x".repeat(250_000) } };
    const endpoints = ["https://plain.example/", "https://templated.example/"];
    const overflows = templateOverflows(endpoints, (endpoint) => (endpoint.includes("templated") ? template : undefined), sample, applyTemplate);
    expect(overflows).toStrictEqual([{ index: 1, bytes: expect.any(Number) }]);
    expect(overflows[0]!.bytes).toBeGreaterThan(MAX_CALLBACK_BODY_BYTES);
    expect(templateOverflows(endpoints, () => template, job, applyTemplate)).toStrictEqual([]);
  });

  it("refuses a body template larger than 16 KiB when the operator configures it", () => {
    const big = { text: "{{custom_data}}".repeat(1200) };
    const parsed = ClientConfig.safeParse({ callback_rules: [{ prefix: "https://x/", body_template: big }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/at most 16 KiB/);
  });
});
