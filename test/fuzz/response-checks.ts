import type { FuzzRequest, FuzzResponse } from "./fuzz-request.ts";

/**
 * What every response must satisfy (api.md "Errors", README "API at a glance"): never a 5xx; every 4xx in
 * the one error shape `{error, code, details?, id?}` with the code its status implies; an `x-request-id` on
 * every response; `Retry-After` on a 429; no secret in any body or header; another client's job id answered
 * like an unknown one; a valid JSON media type (`application/json ; charset=utf-8`) not refused for its type.
 */

export type ViolationKind =
  | "server_error"
  | "no_response"
  | "error_shape"
  | "wrong_code"
  | "no_request_id"
  | "no_retry_after"
  | "secret_leak"
  | "secret_in_log"
  | "secret_in_callback"
  | "foreign_id_answered"
  | "json_media_type_refused"
  | "refused_changed_state";

export interface Violation {
  kind: ViolationKind;
  message: string;
}

/** The codes each status may carry (api.md "Errors"); 405 is not in api.md, and the API answers 404 for it. */
export const CODES_BY_STATUS: Readonly<Record<number, readonly string[]>> = {
  400: ["validation_failed", "invalid_json"],
  401: ["unauthorised"],
  403: ["forbidden"],
  404: ["not_found"],
  405: ["method_not_allowed", "not_found"],
  409: ["conflict"],
  413: ["payload_too_large"],
  415: ["unsupported_media_type"],
  429: ["rate_limited"],
};

const ALL_CODES = new Set(Object.values(CODES_BY_STATUS).flat());

export interface SecretCheck {
  /** Known secrets: in no response at all. */
  foundIn(text: string): string[];
}

/**
 * The violations of one response. `storedSecrets` are the secrets the request itself stored (callback rule
 * header values, storage credentials): a 2xx answer must show them masked.
 */
export function checkResponse(request: FuzzRequest, response: FuzzResponse, secrets: SecretCheck, storedSecrets: readonly string[] = []): Violation[] {
  if (response.transportError) return [{ kind: "no_response", message: response.transportError }];
  const violations: Violation[] = [];
  const status = response.status;
  const text = response.body.toString("utf8");
  if (status >= 500) violations.push({ kind: "server_error", message: `${status} ${clip(text)}` });
  if (!response.headers["x-request-id"]) violations.push({ kind: "no_request_id", message: `${status} without x-request-id` });
  if (status >= 400 && status < 500 && request.method !== "HEAD") {
    const problem = errorShapeProblem(text, response.headers["content-type"]);
    if (problem) violations.push({ kind: "error_shape", message: `${status}: ${problem}: ${clip(text)}` });
    else {
      const code = (JSON.parse(text) as { code: string }).code;
      const expected = CODES_BY_STATUS[status];
      if (expected ? !expected.includes(code) : !ALL_CODES.has(code)) {
        violations.push({ kind: "wrong_code", message: `${status} with code "${code}" (expected ${expected ? expected.join(" or ") : "a documented code"})` });
      }
    }
  }
  if (status === 429 && !response.headers["retry-after"]) violations.push({ kind: "no_retry_after", message: "429 without Retry-After" });
  const headerText = Object.entries(response.headers).map(([name, value]) => `${name}: ${value}`).join("\n");
  const leaked = [...secrets.foundIn(text), ...secrets.foundIn(headerText)];
  if (status >= 200 && status < 300) leaked.push(...storedSecrets.filter((secret) => text.includes(secret) || headerText.includes(secret)));
  if (leaked.length > 0) violations.push({ kind: "secret_leak", message: `${status} carries ${leaked.length} secret(s) (${leaked.map((secret) => `${secret.slice(0, 4)}…`).join(", ")})` });
  if (request.foreignId && ((status >= 200 && status < 300) || status === 409)) {
    violations.push({ kind: "foreign_id_answered", message: `another client's job id answered ${status} (an unknown id answers 404)` });
  }
  if (request.jsonMediaTypeVariant && (status === 415 || (status === 400 && /content.?type|media type/i.test(text)))) {
    violations.push({ kind: "json_media_type_refused", message: `content-type "${request.headers["content-type"]}" refused: ${status} ${clip(text)}` });
  }
  return violations;
}

/** Why a 4xx body is not `{"error": string, "code": string, "details"?: [{path, message}], "id"?: string}`, or null. */
export function errorShapeProblem(text: string, contentType: string | undefined): string | null {
  if (!contentType || !/^application\/json\b/i.test(contentType)) return `content-type ${contentType ?? "(none)"}, not application/json`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return "body is not JSON";
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "body is not a JSON object";
  const record = body as Record<string, unknown>;
  if (typeof record.error !== "string" || record.error === "") return '"error" is not a non-empty string';
  if (typeof record.code !== "string" || record.code === "") return '"code" is not a non-empty string';
  const extra = Object.keys(record).filter((key) => !["error", "code", "details", "id"].includes(key));
  if (extra.length > 0) return `unexpected field(s) ${extra.join(", ")}`;
  if ("id" in record && typeof record.id !== "string") return '"id" is not a string';
  if ("details" in record) {
    if (!Array.isArray(record.details)) return '"details" is not an array';
    for (const detail of record.details as unknown[]) {
      const item = detail as Record<string, unknown> | null;
      if (typeof item !== "object" || item === null || typeof item.path !== "string" || typeof item.message !== "string") {
        return '"details" has an item that is not {path: string, message: string}';
      }
    }
  }
  return null;
}

function clip(text: string, length = 300): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}
