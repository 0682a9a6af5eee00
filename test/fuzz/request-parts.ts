import fc from "fast-check";
import type { FuzzRequest } from "./fuzz-request.ts";
import type { JsonSchema } from "./json-schema.ts";
import type { Operation } from "./openapi-operations.ts";
import type { Expectation } from "./value-mutations.ts";

/** What requests are assembled from: a valid request's parts, its body schemas, and the wire request. */

/** A body schema of an operation with the arbitrary of its valid values. */
export interface BodyVariant {
  schema: JsonSchema;
  /** What the schema's `$ref`s point into. */
  root: unknown;
  valid: fc.Arbitrary<unknown>;
}

/** The parts a request is assembled from. */
export interface Parts {
  ip: string;
  headers: Record<string, string>;
  /** Path parameters, encoded as they go on the wire. */
  path: Record<string, string>;
  /** The query string, encoded, without `?`. */
  query: string;
  body?: string | Buffer;
  contentType?: string;
}

/** The operation name of requests with a method their path does not declare. */
export const UNDECLARED_METHOD = "(a method the path does not declare)";

/**
 * A source address per request: the auth-failure throttle counts failures per address. Without bias
 * (fast-check favours small numbers, which would send many requests from `10.0.0.1`).
 */
export const sourceAddress = fc.noBias(
  fc.oneof(
    fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `10.${a}.${b}.${c}`),
    fc.tuple(fc.nat(0xffff), fc.nat(0xffff)).map(([a, b]) => `2001:db8::${a.toString(16)}:${b.toString(16)}`),
  ),
);

/** The wire request: path parameters substituted, query appended, source address, media type and body set. */
export function assemble(op: Operation, parts: Parts, intent: FuzzRequest["intent"], mutation: string, expect: Expectation): FuzzRequest {
  const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => parts.path[name] ?? "x");
  const headers: Record<string, string> = { "cf-connecting-ip": parts.ip, ...parts.headers };
  if (parts.body !== undefined && parts.contentType !== undefined) headers["content-type"] = parts.contentType;
  return {
    operation: op.key,
    method: op.method,
    target: parts.query ? `${path}?${parts.query}` : path,
    headers,
    body: parts.body,
    intent,
    mutation,
    expect,
  };
}
