import fc from "fast-check";
import { validateHeaderName, validateHeaderValue } from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app";
import type { FuzzContext } from "../fuzz/fuzz-context";
import { operationsOf, undeclaredMethods, type OpenApiDocument, type Operation } from "../fuzz/openapi-operations";
import { operationArbitraries, type OperationArbitraries } from "../fuzz/request-generator";
import { encodeLoose } from "../fuzz/url-encoding";

/** The OpenAPI fuzzer's reading of the served document and the requests it builds from it. */

let doc: OpenApiDocument;
let ops: Operation[];
let arbitraries: OperationArbitraries[];
const problems: string[] = [];

const ctx: FuzzContext = {
  adminToken: "adm_test_0123456789abcdefghij",
  sinkUrl: "http://127.0.0.1:9",
  main: { name: "fuzz-main", keyId: "k-main", apiKey: "tek_main_0123456789abcdef" },
  other: { name: "fuzz-other", keyId: "k-other", apiKey: "tek_other_0123456789abcdef" },
  sacrificial: [{ name: "fuzz-s1", activeKeyIds: ["k-s1"] }],
  revoked: [{ name: "fuzz-s1", keyId: "k-old", apiKey: "tek_old_0123456789abcdef" }],
  ownJobs: [{ id: "01JOWNJOB0000000000000000A", state: "completed", failed: false, seeded: true }],
  foreignJobs: [{ id: "01JFOREIGN000000000000000B", state: "completed", failed: false, seeded: true }],
  callbacks: [{ jobId: "01JOWNJOB0000000000000000A", callbackId: "cb-1" }],
  workflows: [],
  schedules: ["queue_scheduled_jobs", "retention_cleanup"],
  idempotency: [{ key: "fz-used", body: '{"job":{"workflow":"selftest"},"parameters":{"content_id":"x"}}' }],
  cursors: [],
};

beforeAll(async () => {
  const app = createApp();
  doc = (await (await app.request("/openapi.json", {}, { ENGINE_VERSION: "1" })).json()) as OpenApiDocument;
  ops = operationsOf(doc);
  // The catalogue as GET /workflows serves it (only selftest here).
  ctx.workflows = [{ name: "selftest", parameters: { type: "object", properties: { content_id: { type: "string", minLength: 1, maxLength: 256 }, tasks: { type: "integer", minimum: 1, maximum: 1000 } }, required: ["content_id"] } }];
  arbitraries = operationArbitraries(doc, ops, ctx, problems);
});

describe("operationsOf", () => {
  it("reads every operation with its parameters, body and kind of credentials", () => {
    const byKey = new Map(ops.map((op) => [op.key, op]));
    expect(byKey.get("GET /")?.auth).toBe("none");
    expect(byKey.get("POST /job")?.auth).toBe("client");
    expect(byKey.get("POST /job")?.body?.required).toBe(true);
    expect(byKey.get("POST /job")?.headerParams.map((parameter) => parameter.name)).toEqual(["idempotency-key"]);
    expect(byKey.get("GET /jobs")?.queryParams.map((parameter) => parameter.name)).toContain("cursor");
    expect(byKey.get("DELETE /admin/clients/{name}/keys/{key_id}")?.auth).toBe("admin");
    expect(byKey.get("DELETE /admin/clients/{name}/keys/{key_id}")?.pathParams.map((parameter) => parameter.name)).toEqual(["name", "key_id"]);
    expect(ops.every((op) => op.statuses.length > 0)).toBe(true);
  });

  it("names the methods a path lacks", () => {
    expect(undeclaredMethods(doc, "/jobs/{id}")).toEqual(["PUT", "POST", "DELETE", "OPTIONS"]);
  });
});

describe("operationArbitraries", () => {
  it("covers every operation, and the document's schemas convert without problems", () => {
    expect(arbitraries.map((entry) => entry.op.key).sort()).toEqual(ops.map((op) => op.key).sort());
    expect(problems).toEqual([]);
  });

  it("builds requests node:http can send: path filled, own source address, Latin-1 header values", () => {
    for (const entry of arbitraries) {
      for (const request of fc.sample(fc.oneof(entry.valid, entry.mutated), { numRuns: 60, seed: 11 })) {
        expect(request.target.startsWith("/"), request.target).toBe(true);
        expect(request.target).not.toMatch(/[{}\s]/);
        expect(request.headers["cf-connecting-ip"]).toMatch(/^(10\.\d+\.\d+\.\d+|2001:db8::[0-9a-f]+:[0-9a-f]+)$/);
        for (const [name, value] of Object.entries(request.headers)) {
          expect(() => validateHeaderName(name)).not.toThrow();
          expect(() => validateHeaderValue(name, value), `${name}: ${JSON.stringify(value)}`).not.toThrow();
        }
        if (request.intent === "mutated") expect(request.mutation).not.toBe("");
      }
    }
  });

  it("spreads requests over source addresses (the auth-failure throttle blocks an address after ~20 failures)", () => {
    const any = fc.constantFrom(...arbitraries).chain((entry) => entry.mutated);
    const addresses = fc.sample(any, { numRuns: 1000, seed: 16 }).map((request) => request.headers["cf-connecting-ip"]);
    const counts = new Map<string, number>();
    for (const address of addresses) counts.set(address!, (counts.get(address!) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeLessThan(5);
  });

  it("sends valid requests with the right credentials and, for bodies, JSON", () => {
    for (const entry of arbitraries) {
      for (const request of fc.sample(entry.valid, { numRuns: 30, seed: 12 })) {
        if (entry.op.auth === "admin") expect(request.headers.authorization).toBe(`Bearer ${ctx.adminToken}`);
        if (entry.op.auth === "client") expect(request.headers["api-key"] ?? request.headers["x-api-key"]).toBe(ctx.main.apiKey);
        if (request.body !== undefined) {
          expect(request.headers["content-type"]).toMatch(/json/i);
          expect(() => JSON.parse(request.body!.toString())).not.toThrow();
        }
      }
    }
  });

  it("aims valid job requests at the fuzzed client's jobs and the sink, and marks another client's ids", () => {
    const submit = arbitraries.find((entry) => entry.op.key === "POST /job")!;
    for (const request of fc.sample(submit.valid, { numRuns: 50, seed: 13 })) {
      const body = JSON.parse(request.body!.toString()) as { job: { workflow: string; priority?: number }; parameters: { rest_endpoints?: string[] } };
      expect(body.job.workflow).toBe("selftest");
      for (const endpoint of body.parameters.rest_endpoints ?? []) expect(endpoint.startsWith(ctx.sinkUrl)).toBe(true);
      if (body.job.priority !== undefined) expect(body.job.priority).toBeGreaterThanOrEqual(2);
    }
    const getJob = arbitraries.find((entry) => entry.op.key === "GET /jobs/{id}")!;
    const mutated = fc.sample(getJob.mutated, { numRuns: 400, seed: 14 });
    const foreign = mutated.filter((request) => request.foreignId);
    expect(foreign.length).toBeGreaterThan(0);
    for (const request of foreign) expect(request.target).toBe(`/jobs/${ctx.foreignJobs[0]!.id}`);
  });

  it("mutates every axis somewhere: credentials, body, raw body, media type, query, path, Idempotency-Key, method", () => {
    const descriptions = arbitraries.flatMap((entry) => fc.sample(entry.mutated, { numRuns: 80, seed: 15 }).map((request) => request.mutation));
    for (const prefix of ["credentials: ", "body ", "raw body: ", "content-type: ", "query ", "path ", "Idempotency-Key ", "method "]) {
      expect(descriptions.some((description) => description.startsWith(prefix)), prefix).toBe(true);
    }
  });
});

describe("encodeLoose", () => {
  it("percent-encodes lone surrogates as WTF-8 and everything else as encodeURIComponent", () => {
    expect(encodeLoose("a b/é")).toBe("a%20b%2F%C3%A9");
    expect(encodeLoose("x\uD800y")).toBe("x%ED%A0%80y");
    expect(encodeLoose("\uDC00")).toBe("%ED%B0%80");
    expect(encodeLoose("😀")).toBe("%F0%9F%98%80");
  });
});
