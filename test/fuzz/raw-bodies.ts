import type { Expectation } from "./value-mutations.ts";

/**
 * Request bodies broken below the JSON level (not JSON, the wrong top-level type, over the 256 KiB cap,
 * nested past the depth cap, bytes that are not UTF-8, JSON texts odd but valid), and the media types a
 * body can be sent with.
 */

export interface RawBody {
  body: string | Buffer;
  description: string;
  expect: Expectation;
}

/** README: "Request bodies are JSON (415 otherwise), at most 256 KiB (413) and nested at most 64 deep (400)". */
export const MAX_BODY_BYTES = 256 * 1024;

const NOT_JSON = ["{", '{"a":}', "NaN", "undefined", "{'a': 1}", '{"a": 1,}', "[1, 2", '"unterminated', "{}}", "nul", "tru", "<xml/>", "a=1&b=2", "\u0000"];
const WRONG_TOP_LEVEL = ["[]", '"text"', "null", "42", "true", "[{}]"];

/** Raw variants of a valid body value. */
export function rawBodyVariants(valid: unknown): RawBody[] {
  const json = JSON.stringify(valid);
  const variants: RawBody[] = [
    ...NOT_JSON.map((body) => ({ body, description: `not JSON: ${JSON.stringify(body)}`, expect: "refused" as const })),
    ...WRONG_TOP_LEVEL.map((body) => ({ body, description: `top-level ${body}`, expect: "refused" as const })),
    { body: "", description: "empty body", expect: "refused" },
    { body: `${json}\u0000`, description: "NUL after the JSON", expect: "refused" },
    { body: `${json}${json}`, description: "two JSON texts", expect: "refused" },
    { body: Buffer.from(json, "utf16le"), description: "UTF-16 encoded", expect: "refused" },
    { body: oversized(MAX_BODY_BYTES + 1), description: "256 KiB + 1 byte", expect: "refused" },
    { body: oversized(MAX_BODY_BYTES + 64 * 1024), description: "320 KiB", expect: "refused" },
    { body: nestedObjects(65), description: "objects nested 65 deep", expect: "refused" },
    { body: `${"[".repeat(100_000)}${"]".repeat(100_000)}`, description: "arrays nested 100,000 deep", expect: "refused" },
    { body: `\uFEFF${json}`, description: "byte order mark", expect: "either" },
    { body: ` \n\t${json}\n `, description: "whitespace around", expect: "either" },
    { body: Buffer.concat([Buffer.from(json.slice(0, -1)), Buffer.from(',"zz":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), description: "invalid UTF-8 in a string", expect: "either" },
    { body: json.replace(/(-?\d+(\.\d+)?)/, "1e400"), description: "number 1e400", expect: "either" },
    { body: json.replace(/(-?\d+(\.\d+)?)/, "-0"), description: "number -0", expect: "either" },
    { body: duplicateFirstKey(json), description: "duplicate key (last wins)", expect: "either" },
    { body: json.replace(/"([^"\\]*)"/, '"\\ud800"'), description: "escaped lone surrogate as first string", expect: "either" },
  ];
  return variants;
}

/** Media types a JSON body may be sent with (RFC 8259, RFC 6839 `+json`; parameters and case are free). */
export const JSON_MEDIA_TYPE_VARIANTS = [
  "application/json; charset=utf-8",
  "application/json ; charset=utf-8",
  "application/json;charset=UTF-8",
  "APPLICATION/JSON",
  "application/vnd.api+json",
];

/** Media types that are not JSON: a JSON body sent with one of them answers 415. */
export const NON_JSON_MEDIA_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=fuzz",
  "application/xml",
  "text/json",
  "application/jsonx",
  "application/x-json",
  "json",
  "*/*",
  "application/json, text/plain",
];

function oversized(bytes: number): string {
  const prefix = '{"zz":"';
  return `${prefix}${"a".repeat(bytes - prefix.length - 2)}"}`;
}

function nestedObjects(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

function duplicateFirstKey(json: string): string {
  const match = /^\{"((?:[^"\\]|\\.)*)":/.exec(json);
  return match ? `{"${match[1]}":12345,${json.slice(1)}` : json;
}
