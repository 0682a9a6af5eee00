import { describe, expect, it } from "vitest";
import { applyTemplate, renderedBytes } from "../../src/domain/body-template";
import { boundedBody, MAX_CALLBACK_BODY_BYTES, templateOverflows, utf8Bytes } from "../../src/domain/callback-size";
import { ClientConfig } from "../../src/domain/client-config";

const job = { job_id: "01JOB", status: "completed", workflow: "voddelete", content_id: "c", custom_data: { ref: "r" }, time: "2026-11-30T00:00:00.000Z", client: "x", sequence: 3, message: "demo1" };

describe("renderedBytes", () => {
  it("is the byte length of the rendered JSON, for templates and for plain fields", () => {
    const fields = { ...job, custom_data: { ref: "r-1", text: 'quote " backslash \\ é 😀', list: [1, null, true] }, files: ["a/b.mp4", "ü.mp4"] };
    const templates = [
      undefined,
      { id: "{{job_id}}", data: "{{custom_data}}", text: "job {{job_id}}: {{message}} – {{custom_data.text}}", missing: "{{nope}}", inner: "x{{nope}}y", n: 3, b: false, z: null },
      ["{{files}}", "{{custom_data.list}}", { deep: ["{{sequence}} of {{custom_data}}"] }],
      "{{custom_data.ref}}",
      "plain \"text\"",
    ];
    for (const template of templates) {
      const rendered = JSON.stringify(template === undefined ? fields : applyTemplate(template, fields));
      expect(renderedBytes(template, fields, Infinity), JSON.stringify(template)).toBe(utf8Bytes(rendered));
    }
  });

  it("stops counting past the limit, without building the body: 900 copies of a 250 KB field", () => {
    const template = { copies: Array.from({ length: 900 }, () => "{{custom_data}}") };
    const fields = { ...job, custom_data: { blob: "x".repeat(250_000) } };
    const size = renderedBytes(template, fields, MAX_CALLBACK_BODY_BYTES);
    expect(size).toBeGreaterThan(MAX_CALLBACK_BODY_BYTES);
    expect(size).toBeLessThan(MAX_CALLBACK_BODY_BYTES + 300_000);
  });
});

describe("callback bodies are bounded", () => {
  it("sends a body under the limit exactly as rendered", () => {
    expect(boundedBody(job, undefined)).toStrictEqual({ text: JSON.stringify(job), truncated: false });
    expect(boundedBody(job, { id: "{{job_id}}", ok: "{{status}}" })).toStrictEqual({ text: '{"id":"01JOB","ok":"completed"}', truncated: false });
  });

  it("clips a list that only the result inflates (files of a huge folder) to what fits, and says so", () => {
    const files = Array.from({ length: 60_000 }, (_, i) => `content/vod/big/segment-${String(i).padStart(6, "0")}.m4s`);
    const { text, truncated } = boundedBody({ ...job, files }, undefined);
    expect(truncated).toBe(true);
    expect(utf8Bytes(text)).toBeLessThanOrEqual(MAX_CALLBACK_BODY_BYTES);
    const body = JSON.parse(text) as { files: string[]; truncated: boolean; job_id: string; message: string };
    expect(body).toMatchObject({ job_id: "01JOB", message: "demo1", truncated: true });
    expect(body.files).toStrictEqual(files.slice(0, body.files.length));
    // As many as fit: one more would not.
    expect(utf8Bytes(JSON.stringify({ ...body, files: files.slice(0, body.files.length + 1) }))).toBeGreaterThan(MAX_CALLBACK_BODY_BYTES);
  });

  it("clips through a template that repeats the list, and marks it truncated though the template does not name the field", () => {
    const files = Array.from({ length: 60_000 }, (_, i) => `f-${i}.m4s`);
    const template = { a: "{{files}}", b: "{{files}}", id: "{{job_id}}" };
    const { text, truncated } = boundedBody({ ...job, files }, template);
    expect(truncated).toBe(true);
    expect(utf8Bytes(text)).toBeLessThanOrEqual(MAX_CALLBACK_BODY_BYTES);
    const body = JSON.parse(text) as { a: string[]; b: string[]; id: string };
    expect(body.a.length).toBeGreaterThan(1000);
    expect(body.a).toStrictEqual(body.b);
    expect(body.id).toBe("01JOB");
  });

  it("falls back to the identity fields and the start of the message when nothing else fits", () => {
    const { text } = boundedBody({ ...job, message: "m".repeat(2_000_000) }, undefined);
    expect(JSON.parse(text)).toStrictEqual({ job_id: "01JOB", workflow: "voddelete", status: "completed", content_id: "c", time: job.time, client: "x", sequence: 3, message: "m".repeat(1000), truncated: true });
  });

  it("refuses at submission a template that would repeat a large custom_data past the limit, sizing it without building it", () => {
    const template = { copies: Array.from({ length: 900 }, () => "{{custom_data}}") };
    const sample = { ...job, custom_data: { blob: "x".repeat(250_000) } };
    const endpoints = ["https://plain.example/", "https://templated.example/"];
    const overflows = templateOverflows(endpoints, (endpoint) => (endpoint.includes("templated") ? template : undefined), sample);
    expect(overflows).toStrictEqual([{ index: 1, bytes: expect.any(Number) }]);
    expect(overflows[0]!.bytes).toBeGreaterThan(MAX_CALLBACK_BODY_BYTES);
    expect(templateOverflows(endpoints, () => template, job)).toStrictEqual([]);
  });

  it("refuses a body template larger than 16 KiB when the operator configures it", () => {
    const big = { text: "{{custom_data}}".repeat(1200) };
    const parsed = ClientConfig.safeParse({ callback_rules: [{ prefix: "https://x/", body_template: big }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/at most 16 KiB/);
  });
});
