import { describe, expect, it } from "vitest";
import type { FuzzRequest, FuzzResponse } from "../fuzz/fuzz-request";
import { checkResponse, errorShapeProblem } from "../fuzz/response-checks";
import { SecretRegistry, secretsInBody, showOnceSecrets } from "../fuzz/secrets";

/** The checks the OpenAPI fuzzer applies to every response. */

const request = (extra: Partial<FuzzRequest> = {}): FuzzRequest => ({
  operation: "GET /jobs/{id}",
  method: "GET",
  target: "/jobs/x",
  headers: {},
  intent: "mutated",
  mutation: "path id: unknown",
  expect: "refused",
  ...extra,
});

const response = (status: number, body: unknown, headers: Record<string, string> = {}): FuzzResponse => ({
  status,
  headers: { "x-request-id": "r1", "content-type": "application/json", ...headers },
  body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
  durationMs: 1,
});

const noSecrets = new SecretRegistry();
const kinds = (violations: { kind: string }[]) => violations.map((violation) => violation.kind);

describe("checkResponse", () => {
  it("passes a 404 in the error shape, and a 2xx", () => {
    expect(checkResponse(request(), response(404, { error: "Job not found.", code: "not_found" }), noSecrets)).toEqual([]);
    expect(checkResponse(request(), response(400, { error: "bad", code: "validation_failed", details: [{ path: "limit", message: "too big" }] }), noSecrets)).toEqual([]);
    expect(checkResponse(request(), response(200, [{ id: "x" }]), noSecrets)).toEqual([]);
  });

  it("flags a 5xx, a missing x-request-id and a lost response", () => {
    expect(kinds(checkResponse(request(), response(500, { error: "Internal error.", code: "internal" }), noSecrets))).toEqual(["server_error"]);
    const bare = { ...response(200, {}), headers: { "content-type": "application/json" } };
    expect(kinds(checkResponse(request(), bare, noSecrets))).toEqual(["no_request_id"]);
    expect(kinds(checkResponse(request(), { ...response(0, ""), transportError: "socket hang up" }, noSecrets))).toEqual(["no_response"]);
  });

  it("flags a 4xx outside the error shape", () => {
    expect(kinds(checkResponse(request(), response(404, "Not Found", { "content-type": "text/plain" }), noSecrets))).toEqual(["error_shape"]);
    expect(kinds(checkResponse(request(), response(400, { message: "bad" }), noSecrets))).toEqual(["error_shape"]);
    expect(kinds(checkResponse(request(), response(400, { error: "bad", code: "validation_failed", stack: "at x" }), noSecrets))).toEqual(["error_shape"]);
    expect(kinds(checkResponse(request(), response(400, { error: "bad", code: "validation_failed", details: [{ path: 1 }] }), noSecrets))).toEqual(["error_shape"]);
  });

  it("flags a code the status does not carry (the 415 answered validation_failed)", () => {
    expect(kinds(checkResponse(request(), response(415, { error: "Unsupported Media Type", code: "validation_failed" }), noSecrets))).toEqual(["wrong_code"]);
    expect(kinds(checkResponse(request(), response(404, { error: "x", code: "conflict" }), noSecrets))).toEqual(["wrong_code"]);
    expect(kinds(checkResponse(request(), response(405, { error: "x", code: "not_found" }), noSecrets))).toEqual([]);
  });

  it("wants Retry-After on a 429", () => {
    expect(kinds(checkResponse(request(), response(429, { error: "slow down", code: "rate_limited" }), noSecrets))).toEqual(["no_retry_after"]);
    expect(checkResponse(request(), response(429, { error: "slow down", code: "rate_limited" }, { "retry-after": "1" }), noSecrets)).toEqual([]);
  });

  it("flags a known secret in a body or a header, and a stored secret in a 2xx answer", () => {
    const secrets = new SecretRegistry();
    secrets.add("tek_0123456789abcdef", "short");
    expect(kinds(checkResponse(request(), response(200, { key: "tek_0123456789abcdef" }), secrets))).toEqual(["secret_leak"]);
    expect(kinds(checkResponse(request(), response(200, {}, { link: "</jobs?x=tek_0123456789abcdef>" }), secrets))).toEqual(["secret_leak"]);
    expect(checkResponse(request(), response(200, { text: "short" }), secrets)).toEqual([]);
    const stored = ["hdrsecret_aaaaaaaaaaaaaaaa"];
    expect(kinds(checkResponse(request({ method: "PUT" }), response(200, { headers: { x: "hdrsecret_aaaaaaaaaaaaaaaa" } }), noSecrets, stored))).toEqual(["secret_leak"]);
    expect(checkResponse(request({ method: "PUT" }), response(200, { headers: { x: "********" } }), noSecrets, stored)).toEqual([]);
  });

  it("flags another client's job answered otherwise than an unknown one", () => {
    expect(kinds(checkResponse(request({ foreignId: true }), response(200, { id: "x" }), noSecrets))).toEqual(["foreign_id_answered"]);
    expect(kinds(checkResponse(request({ foreignId: true }), response(409, { error: "x", code: "conflict" }), noSecrets))).toEqual(["foreign_id_answered"]);
    expect(checkResponse(request({ foreignId: true }), response(404, { error: "Job not found.", code: "not_found" }), noSecrets)).toEqual([]);
  });

  it("flags a valid JSON media type refused for its type", () => {
    const variant = request({ method: "POST", intent: "valid", jsonMediaTypeVariant: true, headers: { "content-type": "application/json ; charset=utf-8" } });
    expect(kinds(checkResponse(variant, response(415, { error: "Unsupported Media Type", code: "unsupported_media_type" }), noSecrets))).toEqual(["json_media_type_refused"]);
    expect(checkResponse(variant, response(202, { id: "x" }), noSecrets)).toEqual([]);
  });
});

describe("errorShapeProblem", () => {
  it("accepts {error, code, details?, id?} as JSON, nothing else", () => {
    expect(errorShapeProblem('{"error":"x","code":"conflict","id":"j1"}', "application/json; charset=UTF-8")).toBeNull();
    expect(errorShapeProblem('{"error":"x","code":"conflict"}', "text/html")).toMatch(/content-type/);
    expect(errorShapeProblem("[1]", "application/json")).toMatch(/not a JSON object/);
    expect(errorShapeProblem('{"error":"","code":"x"}', "application/json")).toMatch(/"error"/);
    expect(errorShapeProblem('{"error":"x","code":"y","id":5}', "application/json")).toMatch(/"id"/);
  });
});

describe("secrets", () => {
  it("finds the secrets a body stores: secret-looking fields and callback rule header values", () => {
    const body = { callback_rules: [{ prefix: "https://x/", headers: { authorization: "Bearer abc", "x-a": "v" } }], locations: { S3: { secret_access_key: "k", region: "eu" } } };
    expect(secretsInBody(body).sort()).toEqual(["Bearer abc", "k", "v"]);
  });

  it("takes the show-once secrets of creation answers only", () => {
    expect(showOnceSecrets("POST /admin/clients", 201, { api_key: "a", signing_secret: "s", client: "c" })).toEqual(["a", "s"]);
    expect(showOnceSecrets("POST /admin/clients", 409, { api_key: "a" })).toEqual([]);
    expect(showOnceSecrets("GET /admin/clients/{name}", 200, { api_key: "a" })).toEqual([]);
  });

  it("hides secrets in printed requests", () => {
    const secrets = new SecretRegistry();
    secrets.add("adm_e2e_0123456789abcdef");
    expect(secrets.hide("Bearer adm_e2e_0123456789abcdef")).toBe("Bearer <secret adm_…>");
  });
});
