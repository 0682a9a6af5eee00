import type { Expectation } from "./value-mutations.ts";

/** One generated request, as sent on the wire, with what the fuzzer meant by it. */
export interface FuzzRequest {
  /** The document's operation ("PATCH /jobs/{id}"), or UNDECLARED_METHOD for a method the path lacks. */
  operation: string;
  method: string;
  /** Path and query string, already encoded as they go on the wire. */
  target: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** "valid": built from the schemas; "mutated": one mutation applied (described in `mutation`). */
  intent: "valid" | "mutated";
  mutation: string;
  /** For a mutated request: must it be refused, or may it be valid? */
  expect: Expectation;
  /** The path names another client's job: it must answer like an unknown id. */
  foreignId?: boolean;
  /** A valid body sent with a valid but unusual JSON media type (`application/json ; charset=utf-8`). */
  jsonMediaTypeVariant?: boolean;
}

export interface FuzzResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
  durationMs: number;
  /** Set when no HTTP response came back (connection reset, timeout). */
  transportError?: string;
}

/** A request that can be replayed by hand: method, target, headers (secrets replaced), body clipped. */
export function describeRequest(request: FuzzRequest, hide: (text: string) => string, clip = 600): string {
  const headers = Object.entries(request.headers).map(([name, value]) => `  ${name}: ${hide(value)}`);
  const body = request.body === undefined ? "" : bodyText(request.body);
  const shown = body.length > clip ? `${body.slice(0, clip)}… (${body.length} chars)` : body;
  return [
    `${request.method} ${request.target}   [${request.operation}; ${request.intent}${request.mutation ? `: ${request.mutation}` : ""}]`,
    ...headers,
    ...(request.body === undefined ? [] : [`  body: ${JSON.stringify(hide(shown))}`]),
  ].join("\n");
}

/** Body bytes as text for a report (invalid UTF-8 shown as U+FFFD). */
export function bodyText(body: string | Buffer): string {
  return typeof body === "string" ? body : body.toString("utf8");
}
