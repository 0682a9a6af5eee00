import type { Credentials } from "./fuzz-context.ts";
import { encodeLoose } from "./url-encoding.ts";
import type { Expectation } from "./value-mutations.ts";

/**
 * Bad credentials, query values, path parameters and Idempotency-Keys. Where the document types a query
 * parameter as a plain string (state, failed, cursor, …), the bad values come from README "Listing".
 */

export interface Bad<T> {
  value: T;
  description: string;
  expect: Expectation;
}

const bad = <T>(value: T, description: string, expect: Expectation = "refused"): Bad<T> => ({ value, description, expect });

/** Client credentials that must not authenticate (`main` and `other` are real clients). */
export function badClientAuth(main: Credentials, other: Credentials, adminToken: string): Bad<Record<string, string>>[] {
  return [
    bad({}, "no credentials"),
    bad({ client: main.name }, "no api-key"),
    bad({ "api-key": main.apiKey }, "no client"),
    bad({ client: main.name, "api-key": `tek_${"0".repeat(43)}` }, "wrong key"),
    bad({ client: main.name, "api-key": other.apiKey }, "another client's key"),
    bad({ client: other.name, "api-key": main.apiKey }, "own key under another client's name"),
    bad({ client: "", "api-key": main.apiKey }, "empty client"),
    bad({ client: main.name, "api-key": "" }, "empty api-key"),
    bad({ client: "c".repeat(129), "api-key": main.apiKey }, "client over 128 characters"),
    bad({ client: main.name, "api-key": "k".repeat(257) }, "api-key over 256 characters"),
    bad({ client: "no-such-client", "api-key": main.apiKey }, "unknown client"),
    bad({ client: main.name, "api-key": main.apiKey.slice(0, -1) }, "key missing its last character"),
    bad({ client: main.name, "api-key": main.apiKey.toUpperCase() }, "key in upper case"),
    bad({ client: "fuzz-\u00e9", "api-key": main.apiKey }, "Latin-1 client name"),
    bad({ client: "' OR '1'='1", "api-key": "' OR '1'='1" }, "SQL in credentials"),
    bad({ authorization: `Bearer ${adminToken}` }, "admin token instead of client headers"),
    bad({ client: ` ${main.name} `, "api-key": main.apiKey }, "client padded with spaces", "either"),
  ];
}

/** Authorization headers that must not open the operator API. */
export function badAdminAuth(main: Credentials, adminToken: string): Bad<Record<string, string>>[] {
  return [
    bad({}, "no authorization"),
    bad({ authorization: "Bearer" }, "Bearer without token"),
    bad({ authorization: `Bearer ${adminToken}x` }, "token with an extra character"),
    bad({ authorization: `Bearer ${adminToken.slice(0, -1)}` }, "token missing its last character"),
    bad({ authorization: adminToken }, "token without scheme"),
    bad({ authorization: `Basic ${Buffer.from(`admin:${adminToken}`).toString("base64")}` }, "Basic scheme"),
    bad({ authorization: `Bearer ${main.apiKey}` }, "a client's api key as bearer"),
    bad({ client: main.name, "api-key": main.apiKey }, "client headers on the operator API"),
    bad({ authorization: "Bearer ' OR '1'='1" }, "SQL as token"),
    bad({ authorization: `bearer ${adminToken}` }, "lower-case scheme (RFC 9110: case-insensitive)", "either"),
  ];
}

const base64url = (text: string) => Buffer.from(text).toString("base64url");

/** Bad values of the listing and log query parameters (README "Listing"; the document says "string"). */
export function badQueryValues(name: string, otherClient: string): Bad<string>[] {
  const flag = [bad("2", "2"), bad("yes", "yes"), bad("", "empty"), bad("-1", "-1")];
  const time = [
    bad("2026-13-01T00:00", "month 13"),
    bad("yesterday", "a word"),
    bad("2026-02-30T00:00:00Z", "30 February"),
    bad("2026-01-01T25:00:00Z", "hour 25"),
    bad("2026-01-01", "date without time"),
    bad("+002026-01-01T00:00:00Z", "expanded year"),
  ];
  switch (name) {
    case "limit":
      return [bad("0", "0"), bad("101", "101"), bad("-1", "-1"), bad("1.5", "1.5"), bad("abc", "abc"), bad("", "empty"), bad("99999999999999999999", "20 digits"), bad("0x10", "hex")];
    case "order_by":
      return [bad("zz", "unknown"), bad("created_at;DROP TABLE jobs", "SQL"), bad("CREATED_AT", "upper case"), bad("", "empty")];
    case "asc":
    case "failed":
    case "persist":
    case "show_all":
      return flag;
    case "state":
      return [bad("7", "7"), bad("10", "10"), bad("-1", "-1"), bad("zz", "unknown"), bad("", "empty"), bad("QUEUED", "upper case")];
    case "from":
    case "to":
      return time;
    case "search":
      return [bad("", "empty"), bad("s".repeat(257), "257 characters")];
    case "job_ids":
      return [bad("", "empty"), bad(",,,", "only commas"), bad(Array.from({ length: 101 }, (_, i) => `id${i}`).join(","), "101 ids"), bad("x".repeat(65), "id of 65 characters")];
    case "workflow":
      return [bad("", "empty"), bad("w".repeat(65), "65 characters")];
    case "client":
      return [bad(otherClient, "another client's name (lists nothing)", "either")];
    case "cursor":
      return [
        bad("!!!", "not base64"),
        bad("c".repeat(513), "513 characters"),
        bad(base64url('["created_at",1,{"a":1},"x"]'), "cursor value an object"),
        bad(base64url('["zz",1,"v","x"]'), "cursor with an unknown order"),
        bad(base64url("not json"), "cursor not JSON"),
        bad(base64url('["created_at",1,"2026",5]'), "cursor id a number"),
        bad(base64url('["priority",0,"text","id"]'), "priority cursor with a text value", "either"),
      ];
    default:
      return [];
  }
}

/** Raw query strings (not encoded by the fuzzer) around a parameter. */
export function rawQueryOddities(name: string, valid: string): Bad<string>[] {
  const value = encodeLoose(valid);
  return [
    bad(`${name}=%ZZ`, "invalid percent-encoding", "either"),
    bad(`${name}=%00`, "encoded NUL", "either"),
    bad(`${name}=%E2%80%AE`, "encoded U+202E", "either"),
    bad(`${name}=%ED%A0%80`, "encoded lone surrogate (invalid UTF-8)", "either"),
    bad(`${name}=%`, "lone %", "either"),
    bad(`${name}=${value}&${name}=%ZZ`, "parameter repeated", "either"),
    bad(`${name}`, "parameter without =", "either"),
    bad(`=${value}`, "empty parameter name", "either"),
    bad(`${name}=${value}&zz_unknown=1`, "unknown parameter", "either"),
    bad(`${name}=${value};zz=1`, "semicolon separator", "either"),
  ];
}

/** Path parameter values, as they go on the wire (already encoded, or raw on purpose). */
export function badPathValues(param: string, isAdminName: boolean): Bad<string>[] {
  if (isAdminName) {
    return [
      bad("-bad", "leading dash"),
      bad("a%20b", "space"),
      bad("%C3%A9", "é"),
      bad("x".repeat(64), "64 characters (63 allowed)"),
      bad("fz-no-such-client", "unknown client"),
      bad("%2F", "encoded slash"),
      bad("..", "dot-dot", "either"),
      bad("%27%20OR%20%271%27%3D%271", "SQL"),
    ];
  }
  const common = [
    bad("zz-unknown", "unknown"),
    bad("01JD5Q3Y8Z6K7M8N9P0QRSTVWX", "well-formed unknown ULID"),
    bad("x".repeat(65), "65 characters"),
    bad("%00", "encoded NUL"),
    bad("%E2%80%AE", "encoded U+202E"),
    bad("%ED%A0%80", "encoded lone surrogate"),
    bad("%ZZ", "invalid percent-encoding"),
    bad("%27%20OR%20%271%27%3D%271", "SQL"),
    bad("a%2Fb", "encoded slash"),
    bad("%2e%2e", "encoded dot-dot", "either"),
    bad("..", "dot-dot", "either"),
    bad("", "empty", "either"),
    bad("null", "null"),
  ];
  if (param === "callback_id") return [...common, bad("c".repeat(129), "129 characters")];
  return common;
}

/** Idempotency-Key values the API refuses (README: 1–255 visible ASCII characters). */
export const BAD_IDEMPOTENCY_KEYS: Bad<string>[] = [
  bad("", "empty"),
  bad("a b", "space inside"),
  bad("k".repeat(256), "256 characters"),
  bad("cl\u00e9", "Latin-1 character"),
  bad("a\tb", "tab inside"),
];
