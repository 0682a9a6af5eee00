import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_BODY_BYTES } from "../../src/api/middleware/json-body";
import {
  call,
  callWithBindings,
  coordinatorOf,
  createClient,
  getJson,
  interceptFetch,
  postJson,
  rows,
  submitSelftest,
  waitFor,
  waitForJobEnd,
} from "./helpers";

/**
 * The bad-input corpus (quality.md, Bad input and security): malformed requests to every endpoint. Each one
 * must get the 4xx it deserves in the one error shape, with a message that says what is wrong, never a 500,
 * and must change nothing: the client's jobs (D1 rows and the coordinator's own state), its settings,
 * schedules, idempotency keys, and the operator's clients and keys are compared before and after each case.
 */

const CLIENT = "corpus-client";
const ADMIN_TOKEN = "corpus-admin-token";
const UNKNOWN_ID = "01JD5Q3Y8Z6K7M8N9P0QRSTVWX";
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface ErrorBody {
  error: string;
  code: string;
  details?: { path: string; message: string }[];
}

/** Ids the paths and bodies of the cases refer to as `{job}` and `{callback}`. */
const ids = { job: "", callback: "" };
let headers: Record<string, string> = {};

/**
 * One malformed request. `body` is sent as JSON unless `raw` (sent as is); `type` overrides the
 * content type (null: none). `as` is who sends it: the client (default), the operator, or nobody.
 */
interface Case {
  name: string;
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  raw?: string;
  type?: string | null;
  extraHeaders?: Record<string, string>;
  as?: "client" | "admin";
  status: number;
  code: string;
  /** What the error message must say (a case-insensitive pattern). */
  says: RegExp;
  /** For validation_failed: a `details` path that must be reported. */
  detail?: string;
}

const job = (jobPart: Record<string, unknown>, parameters: unknown = { content_id: "c1" }) => ({ job: { workflow: "selftest", ...jobPart }, parameters });
const selftest = (parameters: Record<string, unknown>) => job({}, { content_id: "c1", ...parameters });
const long = (n: number, char = "x") => char.repeat(n);
/** Arrays nested `depth` deep: small on the wire, deep for any recursive parser or validator. */
const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

const invalid = (name: string, path: string, body: unknown, detail: string, says: RegExp = new RegExp(escape(detail)), method: Case["method"] = "POST"): Case => ({
  name,
  method,
  path,
  body,
  status: 400,
  code: "validation_failed",
  says,
  detail,
});
const badJson = (name: string, path: string, raw: string, method: Case["method"] = "POST"): Case => ({
  name,
  method,
  path,
  raw,
  status: 400,
  code: "invalid_json",
  says: /not valid JSON/,
});
const query = (name: string, search: string, detail: string, says?: RegExp): Case => ({
  name,
  path: `/jobs?${search}`,
  status: 400,
  code: "validation_failed",
  says: says ?? new RegExp(escape(detail)),
  detail,
});
const notFound = (name: string, path: string, method: Case["method"] = "GET", says = /not found/): Case => ({ name, method, path, status: 404, code: "not_found", says });

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const CASES: Case[] = [
  // POST /job: not JSON, or not the JSON it should be.
  badJson("POST /job: truncated JSON", "/job", '{"job": {"workflow": "selftest"}, '),
  badJson("POST /job: single-quoted JSON", "/job", "{'job': 1}"),
  badJson("POST /job: a trailing comma", "/job", '{"job": {"workflow": "selftest"},}'),
  badJson("POST /job: NaN literal", "/job", '{"job": {"workflow": "selftest", "priority": NaN}, "parameters": {}}'),
  badJson("POST /job: a comment in JSON", "/job", '{"job": {"workflow": "selftest"} /* hi */, "parameters": {}}'),
  badJson("POST /job: two JSON documents", "/job", `${JSON.stringify(selftest({}))}${JSON.stringify(selftest({}))}`),
  badJson("POST /job: plain text", "/job", "submit a job please"),
  badJson("POST /job: an unterminated string", "/job", '{"job": {"workflow": "selftest'),
  badJson("POST /job: a raw control character inside a string", "/job", '{"job": {"workflow": "self\u0001test"}, "parameters": {}}'),
  badJson("POST /job: an empty body", "/job", ""),
  invalid("POST /job: JSON null", "/job", null, "", /expected object/i),
  invalid("POST /job: a JSON array", "/job", [], "", /expected object/i),
  invalid("POST /job: a JSON string", "/job", "selftest", "", /expected object/i),
  invalid("POST /job: a JSON number", "/job", 42, "", /expected object/i),
  { name: "POST /job: text/plain", method: "POST", path: "/job", body: selftest({}), type: "text/plain", status: 415, code: "unsupported_media_type", says: /Content-Type: application\/json/ },
  { name: "POST /job: no content type", method: "POST", path: "/job", body: selftest({}), type: null, status: 415, code: "unsupported_media_type", says: /JSON/ },
  { name: "POST /job: application/xml", method: "POST", path: "/job", raw: "<job/>", type: "application/xml", status: 415, code: "unsupported_media_type", says: /JSON/ },
  { name: "POST /job: a form", method: "POST", path: "/job", raw: "job=selftest", type: "application/x-www-form-urlencoded", status: 415, code: "unsupported_media_type", says: /JSON/ },
  { name: "POST /job: a body over 256 KiB", method: "POST", path: "/job", body: selftest({ custom_data: long(MAX_BODY_BYTES) }), status: 413, code: "payload_too_large", says: /256 KiB/ },
  { name: "POST /job: 1 MiB of whitespace", method: "POST", path: "/job", raw: `${" ".repeat(1024 * 1024)}{}`, status: 413, code: "payload_too_large", says: /256 KiB/ },
  { name: "POST /job: custom_data nested 100,000 deep", method: "POST", path: "/job", raw: `{"job": {"workflow": "selftest"}, "parameters": {"content_id": "c1", "custom_data": ${nested(100_000)}}}`, status: 400, code: "validation_failed", says: /deeper than 64 levels/ },
  { name: "POST /job: custom_data nested 65 deep", method: "POST", path: "/job", raw: `{"job": {"workflow": "selftest"}, "parameters": {"content_id": "c1", "custom_data": ${nested(63)}}}`, status: 400, code: "validation_failed", says: /deeper than 64 levels/ },

  // POST /job: the envelope.
  invalid("POST /job: no job", "/job", { parameters: { content_id: "c1" } }, "job"),
  invalid("POST /job: job is a string", "/job", { job: "selftest", parameters: {} }, "job"),
  invalid("POST /job: no parameters", "/job", { job: { workflow: "selftest" } }, "parameters"),
  invalid("POST /job: parameters is an array", "/job", job({}, ["content_id"]), "parameters"),
  invalid("POST /job: parameters is null", "/job", job({}, null), "parameters"),
  invalid("POST /job: no workflow", "/job", { job: {}, parameters: { content_id: "c1" } }, "job.workflow"),
  invalid("POST /job: an empty workflow", "/job", job({ workflow: "" }), "job.workflow"),
  invalid("POST /job: a numeric workflow", "/job", job({ workflow: 7 }), "job.workflow"),
  invalid("POST /job: an unknown workflow", "/job", job({ workflow: "transcode-everything" }), "job.workflow", /Unknown workflow 'transcode-everything'.*selftest/),
  invalid("POST /job: workflow __proto__", "/job", job({ workflow: "__proto__" }), "job.workflow", /Unknown workflow '__proto__'/),
  invalid("POST /job: workflow constructor", "/job", job({ workflow: "constructor" }), "job.workflow", /Unknown workflow 'constructor'/),
  invalid("POST /job: workflow toString", "/job", job({ workflow: "toString" }), "job.workflow", /Unknown workflow 'toString'/),
  invalid("POST /job: a path in the workflow", "/job", job({ workflow: "../selftest" }), "job.workflow", /Unknown workflow/),
  invalid("POST /job: a NUL in the workflow", "/job", job({ workflow: "selftest\u0000" }), "job.workflow", /Unknown workflow/),
  invalid("POST /job: a workflow of 10,000 characters", "/job", job({ workflow: long(10_000) }), "job.workflow", /128/),
  invalid("POST /job: a workflow of 100 KB", "/job", job({ workflow: long(100_000) }), "job.workflow", /128/),
  invalid("POST /job: SQL in the workflow", "/job", job({ workflow: "selftest'; DROP TABLE jobs; --" }), "job.workflow", /Unknown workflow/),
  invalid("POST /job: priority 0", "/job", job({ priority: 0 }), "job.priority"),
  invalid("POST /job: priority 11", "/job", job({ priority: 11 }), "job.priority"),
  invalid("POST /job: priority -1", "/job", job({ priority: -1 }), "job.priority"),
  invalid("POST /job: priority 2.5", "/job", job({ priority: 2.5 }), "job.priority"),
  invalid('POST /job: priority "high"', "/job", job({ priority: "high" }), "job.priority"),
  invalid("POST /job: priority null", "/job", job({ priority: null }), "job.priority"),
  invalid("POST /job: priority 1e308", "/job", job({ priority: 1e308 }), "job.priority"),
  invalid('POST /job: persist "maybe"', "/job", job({ persist: "maybe" }), "job.persist"),
  invalid('POST /job: run_at "yesterday"', "/job", job({ run_at: "yesterday" }), "job.run_at"),
  invalid("POST /job: run_at in month 13", "/job", job({ run_at: "2026-13-01T00:00:00Z" }), "job.run_at"),
  invalid("POST /job: run_at on 30 February", "/job", job({ run_at: "2027-02-30T10:00:00Z" }), "job.run_at"),
  invalid("POST /job: run_at on 31 April", "/job", job({ run_at: "2027-04-31T10:00:00Z" }), "job.run_at"),
  invalid("POST /job: run_at at 24:00", "/job", job({ run_at: "2027-01-01T24:00:00Z" }), "job.run_at"),
  invalid("POST /job: run_at at 25 o'clock", "/job", job({ run_at: "2027-01-01T25:00:00Z" }), "job.run_at"),
  invalid("POST /job: run_at in another time zone", "/job", job({ run_at: "2027-01-01T10:00:00+05:00" }), "job.run_at"),
  invalid("POST /job: run_at as a number", "/job", job({ run_at: 1_800_000_000_000 }), "job.run_at"),
  invalid("POST /job: run_at with SQL", "/job", job({ run_at: "2027-01-01T00:00:00Z' OR 1=1 --" }), "job.run_at"),
  invalid("POST /job: semaphore_url not a URL", "/job", job({ semaphore_url: "not a url" }), "job.semaphore_url"),
  invalid("POST /job: semaphore_url ftp", "/job", job({ semaphore_url: "ftp://gate.example/open" }), "job.semaphore_url"),
  invalid("POST /job: semaphore_url javascript:", "/job", job({ semaphore_url: "javascript:alert(1)" }), "job.semaphore_url"),
  invalid("POST /job: semaphore_url with CR/LF header injection", "/job", job({ semaphore_url: "https://gate.example/open\r\nX-Injected: 1" }), "job.semaphore_url"),
  invalid("POST /job: semaphore_url with credentials", "/job", job({ semaphore_url: "https://user:pw@gate.example/open" }), "job.semaphore_url"),
  // A URL the parser would quietly change is refused, never stored "cleaned up".
  ...[" https://gate.example/open", "https://gate.example/open ", "https://gate.example/\topen", "https://gate.example/open\n", "https://gate\n.example/open", "\thttps://gate.example/open"].map((url) =>
    invalid(`POST /job: semaphore_url ${JSON.stringify(url)}`, "/job", job({ semaphore_url: url }), "job.semaphore_url", /spaces or control characters/),
  ),
  { name: "POST /job: the body's client is another client", method: "POST", path: "/job", body: { client: "someone-else", ...selftest({}) }, status: 403, code: "forbidden", says: /does not match the client header/ },
  { name: "POST /job: the body's client differs only in case", method: "POST", path: "/job", body: { client: CLIENT.toUpperCase(), ...selftest({}) }, status: 403, code: "forbidden", says: /does not match/ },
  invalid("POST /job: the body's client is a number", "/job", { client: 7, ...selftest({}) }, "client"),
  { ...invalid("POST /job: Idempotency-Key with spaces", "/job", selftest({}), "Idempotency-Key", /visible ASCII/), extraHeaders: { "idempotency-key": "my key" } },
  { ...invalid("POST /job: Idempotency-Key of 256 characters", "/job", selftest({}), "Idempotency-Key", /1-255/), extraHeaders: { "idempotency-key": long(256) } },

  // POST /job: the parameters (selftest and the storage workflows).
  invalid("POST /job: no content_id", "/job", job({}, {}), "parameters.content_id"),
  invalid("POST /job: an empty content_id", "/job", job({}, { content_id: "" }), "parameters.content_id"),
  invalid("POST /job: a blank content_id", "/job", job({}, { content_id: " \t " }), "parameters.content_id"),
  invalid("POST /job: a content_id with a leading space (never trimmed)", "/job", job({}, { content_id: " demo1" }), "parameters.content_id", /never trimmed/),
  invalid("POST /job: a content_id with a trailing tab (never trimmed)", "/job", job({}, { content_id: "demo1\t" }), "parameters.content_id", /never trimmed|control/),
  invalid("POST /job: a numeric content_id", "/job", job({}, { content_id: 123 }), "parameters.content_id"),
  invalid("POST /job: a content_id of 257 characters", "/job", job({}, { content_id: long(257) }), "parameters.content_id"),
  invalid("POST /job: a content_id of 100,000 characters", "/job", job({}, { content_id: long(100_000) }), "parameters.content_id"),
  invalid("POST /job: a NUL in content_id", "/job", job({}, { content_id: "demo\u00001" }), "parameters.content_id", /control/),
  invalid("POST /job: CR/LF in content_id", "/job", job({}, { content_id: "demo1\r\nX-Injected: 1" }), "parameters.content_id", /control/),
  invalid("POST /job: ESC in content_id", "/job", job({}, { content_id: "demo\u001b[31m1" }), "parameters.content_id", /control/),
  invalid("POST /job: a C1 control in content_id", "/job", job({}, { content_id: "demo\u00851" }), "parameters.content_id", /control/),
  invalid("POST /job: a lone high surrogate in content_id", "/job", job({}, { content_id: "demo\ud8001" }), "parameters.content_id", /surrogate/),
  invalid("POST /job: a lone low surrogate in content_id", "/job", job({}, { content_id: "\udc00demo" }), "parameters.content_id", /surrogate/),
  invalid("POST /job: an RTL override in content_id", "/job", job({}, { content_id: "demo\u202egpj.exe" }), "parameters.content_id", /direction/),
  invalid("POST /job: a bidi isolate in content_id", "/job", job({}, { content_id: "demo\u2066x\u2069" }), "parameters.content_id", /direction/),
  invalid("POST /job: tasks 0", "/job", selftest({ tasks: 0 }), "parameters.tasks"),
  invalid("POST /job: tasks 1001", "/job", selftest({ tasks: 1001 }), "parameters.tasks"),
  invalid('POST /job: tasks "3"', "/job", selftest({ tasks: "3" }), "parameters.tasks"),
  invalid("POST /job: tasks 2.5", "/job", selftest({ tasks: 2.5 }), "parameters.tasks"),
  invalid('POST /job: shape "ring"', "/job", selftest({ shape: "ring" }), "parameters.shape"),
  invalid("POST /job: task_ms -1", "/job", selftest({ task_ms: -1 }), "parameters.task_ms"),
  invalid("POST /job: task_ms 60,001", "/job", selftest({ task_ms: 60_001 }), "parameters.task_ms"),
  invalid("POST /job: fail_task of a task that does not exist", "/job", selftest({ tasks: 3, fail_task: "task_99" }), "parameters.fail_task"),
  invalid("POST /job: fail_task a number", "/job", selftest({ fail_task: 1 }), "parameters.fail_task"),
  invalid("POST /job: an output_root of 65 characters", "/job", selftest({ output_root: long(65) }), "parameters.output_root"),
  invalid("POST /job: rest_endpoints a string", "/job", selftest({ rest_endpoints: "https://cms.example/hook" }), "parameters.rest_endpoints"),
  invalid("POST /job: 11 rest_endpoints", "/job", selftest({ rest_endpoints: Array.from({ length: 11 }, (_, i) => `https://cms.example/${i}`) }), "parameters.rest_endpoints"),
  invalid("POST /job: a rest_endpoint that is not a URL", "/job", selftest({ rest_endpoints: ["not a url"] }), "parameters.rest_endpoints[0]"),
  invalid("POST /job: a rest_endpoint that is a number", "/job", selftest({ rest_endpoints: [42] }), "parameters.rest_endpoints[0]"),
  invalid("POST /job: an ftp rest_endpoint", "/job", selftest({ rest_endpoints: ["https://cms.example/ok", "ftp://cms.example/hook"] }), "parameters.rest_endpoints[1]"),
  invalid("POST /job: a file: rest_endpoint", "/job", selftest({ rest_endpoints: ["file:///etc/passwd"] }), "parameters.rest_endpoints[0]"),
  invalid("POST /job: a data: rest_endpoint", "/job", selftest({ rest_endpoints: ["data:text/plain,hello"] }), "parameters.rest_endpoints[0]"),
  invalid("POST /job: a rest_endpoint with credentials", "/job", selftest({ rest_endpoints: ["https://user:secret@cms.example/hook"] }), "parameters.rest_endpoints[0]"),
  invalid("POST /job: CR/LF header injection in a rest_endpoint", "/job", selftest({ rest_endpoints: ["https://cms.example/a\r\nX-Injected: 1"] }), "parameters.rest_endpoints[0]", /control characters/),
  invalid("POST /job: a tab in a rest_endpoint", "/job", selftest({ rest_endpoints: ["https://cms.example/a\tb"] }), "parameters.rest_endpoints[0]", /control characters/),
  invalid("POST /job: a rest_endpoint of 3,000 characters", "/job", selftest({ rest_endpoints: [`https://cms.example/${long(3000)}`] }), "parameters.rest_endpoints[0]", /2048/),
  invalid("POST /job: voddelete folder with ..", "/job", { job: { workflow: "voddelete" }, parameters: { content_id: "c1", folder: "../other-client" } }, "parameters.folder", /'\.' or '\.\.'/),
  invalid("POST /job: voddelete folder a/../../b", "/job", { job: { workflow: "voddelete" }, parameters: { content_id: "c1", folder: "a/../../b" } }, "parameters.folder", /'\.\.'/),
  invalid("POST /job: voddelete absolute folder", "/job", { job: { workflow: "voddelete" }, parameters: { content_id: "c1", folder: "/etc" } }, "parameters.folder", /relative/),
  invalid("POST /job: voddelete folder with backslashes", "/job", { job: { workflow: "voddelete" }, parameters: { content_id: "c1", folder: "..\\..\\windows" } }, "parameters.folder", /backslash/),
  invalid("POST /job: voddelete folder with a NUL", "/job", { job: { workflow: "voddelete" }, parameters: { content_id: "c1", folder: "demo\u0000.ism" } }, "parameters.folder", /control/),
  invalid("POST /job: voddelete empty folder", "/job", { job: { workflow: "voddelete" }, parameters: { content_id: "c1", folder: "" } }, "parameters.folder", /empty/),
  invalid("POST /job: voddelete folder //", "/job", { job: { workflow: "voddelete" }, parameters: { content_id: "c1", folder: "a//b" } }, "parameters.folder", /empty segments/),
  invalid("POST /job: voddelete folder with a lone surrogate", "/job", { job: { workflow: "voddelete" }, parameters: { content_id: "c1", folder: "demo\ud800" } }, "parameters.folder", /lone surrogate/),
  invalid("POST /job: drmswitch folder with ..", "/job", { job: { workflow: "drmswitch" }, parameters: { content_id: "c1", folder: "a/.." } }, "parameters.folder", /'\.\.'/),
  invalid("POST /job: asset_delete a file outside the root", "/job", { job: { workflow: "asset_delete" }, parameters: { content_id: "c1", files: ["ok.mp4", "../../secret"] } }, "parameters.files[1]", /'\.\.'/),
  invalid("POST /job: asset_delete no files", "/job", { job: { workflow: "asset_delete" }, parameters: { content_id: "c1", files: [] } }, "parameters.files", /at least one/),
  invalid("POST /job: output_root __proto__", "/job", { job: { workflow: "asset_delete" }, parameters: { content_id: "c1", files: ["a"], output_root: "__proto__" } }, "parameters.output_root", /root key/),
  invalid("POST /job: drmswitch content_id ..", "/job", { job: { workflow: "drmswitch" }, parameters: { content_id: "..", folder: "a" } }, "parameters.content_id", /file name/),
  invalid("POST /job: drmswitch content_id sub/dir", "/job", { job: { workflow: "drmswitch" }, parameters: { content_id: "sub/dir", folder: "a" } }, "parameters.content_id", /one file name/),
  invalid("POST /job: an unknown storage", "/job", { job: { workflow: "voddelete" }, parameters: { content_id: "c1", folder: "a", source_storage: "GCS" } }, "parameters.source_storage"),

  // GET /jobs: filters.
  query("GET /jobs: limit=abc", "limit=abc", "limit"),
  query("GET /jobs: limit=0", "limit=0", "limit"),
  query("GET /jobs: limit=101", "limit=101", "limit"),
  query("GET /jobs: limit=-1", "limit=-1", "limit"),
  query("GET /jobs: limit=1.5", "limit=1.5", "limit"),
  query("GET /jobs: limit=1;DROP TABLE jobs", "limit=1%3BDROP%20TABLE%20jobs", "limit"),
  query("GET /jobs: state=9", "state=9", "state"),
  query("GET /jobs: state=' OR 1=1 --", "state='%20OR%201%3D1%20--", "state"),
  query("GET /jobs: state=queued;DELETE FROM jobs", "state=queued%3BDELETE%20FROM%20jobs", "state"),
  query("GET /jobs: order_by=client", "order_by=client", "order_by"),
  query("GET /jobs: order_by=id DESC; DROP TABLE jobs", "order_by=id%20DESC%3B%20DROP%20TABLE%20jobs", "order_by"),
  query("GET /jobs: order_by=(SELECT 1)", "order_by=(SELECT%201)", "order_by"),
  query("GET /jobs: asc=sideways", "asc=sideways", "asc"),
  query("GET /jobs: failed=yes", "failed=yes", "failed"),
  query("GET /jobs: persist=maybe", "persist=maybe", "persist"),
  query("GET /jobs: from=yesterday", "from=yesterday", "from"),
  query("GET /jobs: to=2026-99-99", "to=2026-99-99T00:00:00Z", "to"),
  query("GET /jobs: from=' OR ''='", "from='%20OR%20''%3D'", "from"),
  query("GET /jobs: an empty search", "search=", "search"),
  query("GET /jobs: a search of 257 characters", `search=${long(257)}`, "search"),
  query("GET /jobs: job_ids of commas only", "job_ids=,,,", "job_ids"),
  query("GET /jobs: 101 job_ids", `job_ids=${Array.from({ length: 101 }, (_, i) => `id${i}`).join(",")}`, "job_ids"),
  query("GET /jobs: a job id of 65 characters", `job_ids=${long(65)}`, "job_ids[0]", /job_ids/),
  query("GET /jobs: an empty workflow", "workflow=", "workflow"),
  query("GET /jobs: a workflow of 65 characters", `workflow=${long(65)}`, "workflow"),
  query("GET /jobs: a cursor that is not base64 JSON", "cursor=not-a-cursor", "cursor", /cursor this API gave out/),
  query("GET /jobs: a cursor ordering by an injected column", `cursor=${btoa(JSON.stringify(["id; DROP TABLE jobs", 0, "x", "y"]))}`, "cursor", /cursor this API gave out/),
  query("GET /jobs: a cursor of 600 characters", `cursor=${long(600, "A")}`, "cursor"),

  // GET /jobs/{id} and GET /logs/{id}.
  invalid("GET /jobs/{id}: an id of 65 characters", `/jobs/${long(65)}`, undefined, "id", /id/, "GET"),
  notFound("GET /jobs/{id}: an unknown id", `/jobs/${UNKNOWN_ID}`),
  notFound("GET /jobs/{id}: encoded path traversal", "/jobs/..%2F..%2Fsettings"),
  notFound("GET /jobs/{id}: SQL in the id", "/jobs/'%20OR%20'1'%3D'1"),
  notFound("GET /jobs/{id}: an encoded NUL", `/jobs/${UNKNOWN_ID}%00`),
  notFound("GET /jobs/{id}: encoded CR/LF", `/jobs/${UNKNOWN_ID}%0D%0ASet-Cookie:%20x`),
  notFound("GET /jobs/{id}: an encoded RTL override", `/jobs/%E2%80%AE${UNKNOWN_ID}`),
  notFound("GET /jobs/{id}: an encoded lone surrogate", "/jobs/%ED%A0%80"),
  notFound("GET /jobs/{id}: a broken percent escape", "/jobs/%E2%80"),
  notFound("GET /jobs/{id}: a lone percent sign", "/jobs/%"),
  notFound("GET /jobs/{id}: the job id with a trailing segment", "/jobs/{job}/x/y", "GET", /No route for GET/),
  invalid("GET /logs/{id}: an id of 65 characters", `/logs/${long(65)}`, undefined, "id", /id/, "GET"),
  notFound("GET /logs/{id}: an unknown id", `/logs/${UNKNOWN_ID}`),
  notFound("GET /logs/{id}: encoded path traversal", "/logs/..%2F..%2Fjobs"),
  { ...query("GET /logs/{id}: show_all=maybe", "", "show_all"), path: "/logs/{job}?show_all=maybe" },

  // PATCH /jobs/{id} (the job has ended: state changes conflict, bad fields are refused first).
  badJson("PATCH /jobs/{id}: truncated JSON", "/jobs/{job}", '{"priority": ', "PATCH"),
  invalid("PATCH /jobs/{id}: nothing to change", "/jobs/{job}", {}, "", /nothing to change/, "PATCH"),
  { name: "PATCH /jobs/{id}: a priority nested 100,000 deep", method: "PATCH", path: "/jobs/{job}", raw: `{"priority": ${nested(100_000)}}`, status: 400, code: "validation_failed", says: /deeper than 64 levels/ },
  invalid("PATCH /jobs/{id}: an unknown field", "/jobs/{job}", { colour: "red" }, "", /colour/, "PATCH"),
  invalid("PATCH /jobs/{id}: a JSON array", "/jobs/{job}", [{ priority: 1 }], "", /expected object/i, "PATCH"),
  invalid("PATCH /jobs/{id}: queue_state started", "/jobs/{job}", { queue_state: "started" }, "queue_state", /queue_state/, "PATCH"),
  invalid("PATCH /jobs/{id}: queue_state completed", "/jobs/{job}", { queue_state: "completed" }, "queue_state", /queue_state/, "PATCH"),
  invalid("PATCH /jobs/{id}: queue_state by number", "/jobs/{job}", { queue_state: 4 }, "queue_state", /queue_state/, "PATCH"),
  invalid("PATCH /jobs/{id}: priority 0", "/jobs/{job}", { priority: 0 }, "priority", /priority/, "PATCH"),
  invalid('PATCH /jobs/{id}: priority "urgent"', "/jobs/{job}", { priority: "urgent" }, "priority", /priority/, "PATCH"),
  invalid("PATCH /jobs/{id}: run_at not a time", "/jobs/{job}", { run_at: "soon" }, "run_at", /run_at/, "PATCH"),
  invalid("PATCH /jobs/{id}: semaphore_url javascript:", "/jobs/{job}", { semaphore_url: "javascript:alert(1)" }, "semaphore_url", /semaphore_url/, "PATCH"),
  invalid("PATCH /jobs/{id}: semaphore_url with CR/LF header injection", "/jobs/{job}", { semaphore_url: "https://gate.example/x\r\nX-Injected: 1" }, "semaphore_url", /semaphore_url/, "PATCH"),
  invalid("PATCH /jobs/{id}: semaphore_url with credentials", "/jobs/{job}", { semaphore_url: "https://user:pw@gate.example/x" }, "semaphore_url", /semaphore_url/, "PATCH"),
  ...[" https://gate.example/x", "https://gate.example/x\t", "https://gate.example/\nx"].map((url) =>
    invalid(`PATCH /jobs/{id}: semaphore_url ${JSON.stringify(url)}`, "/jobs/{job}", { semaphore_url: url }, "semaphore_url", /spaces or control characters/, "PATCH"),
  ),
  invalid("PATCH /jobs/{id}: sempahore_url with a leading space", "/jobs/{job}", { sempahore_url: " https://gate.example/x" }, "sempahore_url", /spaces or control characters/, "PATCH"),
  // Both spellings at once: the second would otherwise go unchecked (found by the OpenAPI fuzzer).
  invalid("PATCH /jobs/{id}: semaphore_url and sempahore_url both", "/jobs/{job}", { semaphore_url: "https://gate.example/x", sempahore_url: "line\nbreak" }, "sempahore_url", /not both/, "PATCH"),
  invalid("PATCH /jobs/{id}: semaphore_url null and a NUL in sempahore_url", "/jobs/{job}", { semaphore_url: null, sempahore_url: "a\u0000b" }, "sempahore_url", /not both/, "PATCH"),
  invalid('PATCH /jobs/{id}: persist "maybe"', "/jobs/{job}", { persist: "maybe" }, "persist", /persist/, "PATCH"),
  { name: "PATCH /jobs/{id}: the body's client is another client", method: "PATCH", path: "/jobs/{job}", body: { client: "someone-else", priority: 1 }, status: 403, code: "forbidden", says: /does not match/ },
  { name: "PATCH /jobs/{id}: text/plain", method: "PATCH", path: "/jobs/{job}", body: { priority: 1 }, type: "text/plain", status: 415, code: "unsupported_media_type", says: /JSON/ },
  { name: "PATCH /jobs/{id}: pausing an ended job", method: "PATCH", path: "/jobs/{job}", body: { queue_state: "paused" }, status: 409, code: "conflict", says: /.+/ },
  { name: "PATCH /jobs/{id}: a run_at for an ended job", method: "PATCH", path: "/jobs/{job}", body: { run_at: "2030-01-01T00:00:00Z" }, status: 409, code: "conflict", says: /.+/ },
  notFound("PATCH /jobs/{id}: an unknown id", `/jobs/${UNKNOWN_ID}`, "PATCH"),

  // POST /jobs/{id}/rerun and /retry.
  invalid("POST /jobs/{id}/rerun: an id of 65 characters", `/jobs/${long(65)}/rerun`, undefined, "id", /id/),
  notFound("POST /jobs/{id}/rerun: an unknown id", `/jobs/${UNKNOWN_ID}/rerun`, "POST"),
  notFound("POST /jobs/{id}/rerun: encoded path traversal", "/jobs/..%2F{job}/rerun", "POST"),
  { name: "POST /jobs/{id}/rerun: a text/plain body", method: "POST", path: "/jobs/{job}/rerun", raw: "again", type: "text/plain", status: 415, code: "unsupported_media_type", says: /JSON/ },
  invalid("POST /jobs/{id}/retry: an id of 65 characters", `/jobs/${long(65)}/retry`, undefined, "id", /id/),
  notFound("POST /jobs/{id}/retry: an unknown id", `/jobs/${UNKNOWN_ID}/retry`, "POST"),
  { name: "POST /jobs/{id}/retry: a job that did not fail", method: "POST", path: "/jobs/{job}/retry", status: 409, code: "conflict", says: /.+/ },

  // Callbacks: the delivery log and redelivery.
  invalid("GET /jobs/{id}/callbacks: an id of 65 characters", `/jobs/${long(65)}/callbacks`, undefined, "id", /id/, "GET"),
  notFound("GET /jobs/{id}/callbacks: an unknown id", `/jobs/${UNKNOWN_ID}/callbacks`),
  invalid("POST …/redeliver: a callback id of 129 characters", `/jobs/{job}/callbacks/${long(129)}/redeliver`, undefined, "callback_id", /callback_id/),
  notFound("POST …/redeliver: an unknown callback id", "/jobs/{job}/callbacks/no-such-callback/redeliver", "POST", /Callback not found/),
  notFound("POST …/redeliver: SQL in the callback id", "/jobs/{job}/callbacks/'%20OR%201%3D1%20--/redeliver", "POST", /Callback not found/),
  notFound("POST …/redeliver: a real callback id under an unknown job", `/jobs/${UNKNOWN_ID}/callbacks/{callback}/redeliver`, "POST"),

  // The catalogue.
  invalid("GET /workflows/{name}: a name of 65 characters", `/workflows/${long(65)}`, undefined, "name", /name/, "GET"),
  notFound("GET /workflows/{name}: an unknown workflow", "/workflows/transcode-everything", "GET", /Workflow not found/),
  notFound("GET /workflows/{name}: encoded path traversal", "/workflows/..%2F..%2Fadmin", "GET", /Workflow not found/),

  // POST /settings.
  badJson("POST /settings: truncated JSON", "/settings", '{"name": "max_jobs", "setting": '),
  invalid("POST /settings: no setting", "/settings", { name: "max_jobs" }, "setting"),
  invalid("POST /settings: no name", "/settings", { setting: "4" }, "name"),
  invalid("POST /settings: an object setting", "/settings", { name: "max_jobs", setting: { n: 4 } }, "setting"),
  invalid("POST /settings: an array setting", "/settings", { name: "max_jobs", setting: [4] }, "setting"),
  { name: "POST /settings: a setting nested 100,000 deep", method: "POST", path: "/settings", raw: `{"name": "max_jobs", "setting": ${nested(100_000)}}`, status: 400, code: "validation_failed", says: /deeper than 64 levels/ },
  invalid("POST /settings: a boolean setting", "/settings", { name: "max_jobs", setting: true }, "setting"),
  invalid("POST /settings: a setting of 1,025 characters", "/settings", { name: "max_jobs", setting: long(1025, "9") }, "setting"),
  invalid("POST /settings: an unknown name", "/settings", { name: "max_jobz", setting: "4" }, "name", /Unknown setting 'max_jobz'.*max_jobs/),
  invalid("POST /settings: name __proto__", "/settings", { name: "__proto__", setting: "4" }, "name", /Unknown setting '__proto__'/),
  invalid("POST /settings: name constructor", "/settings", { name: "constructor", setting: "4" }, "name", /Unknown setting 'constructor'/),
  invalid("POST /settings: an empty name", "/settings", { name: "", setting: "4" }, "name"),
  invalid("POST /settings: CR/LF in the name", "/settings", { name: "max_jobs\r\nX: 1", setting: "4" }, "name", /Unknown setting/),
  invalid('POST /settings: max_jobs "0"', "/settings", { name: "max_jobs", setting: "0" }, "setting", /max_jobs must be a whole number from 1 to 1000/),
  invalid('POST /settings: max_jobs "1001"', "/settings", { name: "max_jobs", setting: "1001" }, "setting", /max_jobs must be a whole number/),
  invalid('POST /settings: max_jobs "2.5"', "/settings", { name: "max_jobs", setting: "2.5" }, "setting", /max_jobs must be a whole number/),
  invalid('POST /settings: max_jobs "1e3"', "/settings", { name: "max_jobs", setting: "1e3" }, "setting", /max_jobs must be a whole number/),
  invalid('POST /settings: max_jobs "4; DROP TABLE settings"', "/settings", { name: "max_jobs", setting: "4; DROP TABLE settings" }, "setting", /max_jobs must be a whole number/),
  invalid('POST /settings: max_jobs "  "', "/settings", { name: "max_jobs", setting: "  " }, "setting", /max_jobs must be a whole number/),
  invalid("POST /settings: max_jobs -1 as a number", "/settings", { name: "max_jobs", setting: -1 }, "setting", /max_jobs must be a whole number/),
  invalid('POST /settings: priority_threshold "11"', "/settings", { name: "priority_threshold", setting: "11" }, "setting", /priority_threshold/),
  invalid('POST /settings: retry_delay "-5"', "/settings", { name: "retry_delay", setting: "-5" }, "setting", /retry_delay/),
  invalid('POST /settings: retention_days "0"', "/settings", { name: "retention_days", setting: "0" }, "setting", /retention_days/),
  invalid('POST /settings: callback_retry_schedule "a,b"', "/settings", { name: "callback_retry_schedule", setting: "a,b" }, "setting", /callback_retry_schedule/),
  invalid("POST /settings: a callback_retry_schedule of 21 delays", "/settings", { name: "callback_retry_schedule", setting: Array(21).fill("5").join(",") }, "setting", /at most 20/),
  invalid('POST /settings: rate_limit "0"', "/settings", { name: "rate_limit", setting: "0" }, "setting", /rate_limit/),

  // GET /schedules and PUT /scheduler.
  badJson("PUT /scheduler: truncated JSON", "/scheduler", '{"schedule": "retention_cleanup", ', "PUT"),
  invalid("PUT /scheduler: no active", "/scheduler", { schedule: "retention_cleanup" }, "active", /active/, "PUT"),
  invalid('PUT /scheduler: active "yes"', "/scheduler", { schedule: "retention_cleanup", active: "yes" }, "active", /active/, "PUT"),
  invalid("PUT /scheduler: an unknown schedule", "/scheduler", { schedule: "mine_bitcoin", active: true }, "schedule", /Unknown schedule 'mine_bitcoin'.*retention_cleanup/, "PUT"),
  invalid("PUT /scheduler: an empty schedule", "/scheduler", { schedule: "", active: false }, "schedule", /schedule/, "PUT"),
  invalid("PUT /scheduler: a schedule of 65 characters", "/scheduler", { schedule: long(65), active: false }, "schedule", /schedule/, "PUT"),
  invalid("PUT /scheduler: schedule __proto__", "/scheduler", { schedule: "__proto__", active: false }, "schedule", /Unknown schedule/, "PUT"),
  invalid("PUT /scheduler: a JSON array", "/scheduler", [{ schedule: "retention_cleanup", active: false }], "", /expected object/i, "PUT"),

  // The operator API (with the right bearer token: the input is what is wrong).
  { ...invalid("POST /admin/clients: a name with ..", "/admin/clients", { name: "../etc" }, "name", /name/), as: "admin" },
  { ...invalid("POST /admin/clients: a name with a space", "/admin/clients", { name: "two words" }, "name", /name/), as: "admin" },
  { ...invalid("POST /admin/clients: a name of 64 characters", "/admin/clients", { name: long(64, "a") }, "name", /name/), as: "admin" },
  { ...invalid("POST /admin/clients: a name with an RTL override", "/admin/clients", { name: "evil\u202eliam" }, "name", /name/), as: "admin" },
  { ...invalid("POST /admin/clients: a name with CR/LF", "/admin/clients", { name: "x\r\nclient: y" }, "name", /name/), as: "admin" },
  { ...invalid("POST /admin/clients: no name", "/admin/clients", {}, "name", /name/), as: "admin" },
  { ...badJson("POST /admin/clients: truncated JSON", "/admin/clients", '{"name": '), as: "admin" },
  { name: "POST /admin/clients: an existing client", method: "POST", path: "/admin/clients", body: { name: CLIENT }, as: "admin", status: 409, code: "conflict", says: /already exists/ },
  { name: "POST /admin/clients/{name}/keys: an unknown client", method: "POST", path: "/admin/clients/nobody-here/keys", body: {}, as: "admin", status: 404, code: "not_found", says: /Client 'nobody-here' not found/ },
  { ...invalid("POST /admin/clients/{name}/keys: a label of 101 characters", `/admin/clients/${CLIENT}/keys`, { label: long(101) }, "label", /label/), as: "admin" },
  { ...invalid("POST /admin/clients/{name}/keys: encoded traversal in the name", "/admin/clients/..%2F..%2Fx/keys", {}, "name", /name/), as: "admin" },
  { name: "DELETE /admin/…/keys/{key_id}: an unknown key", method: "DELETE", path: `/admin/clients/${CLIENT}/keys/no-such-key`, as: "admin", status: 404, code: "not_found", says: /No such active key/ },
  { name: "DELETE /admin/…/keys/{key_id}: SQL in the key id", method: "DELETE", path: `/admin/clients/${CLIENT}/keys/'%20OR%20'1'%3D'1`, as: "admin", status: 404, code: "not_found", says: /No such active key/ },
  { ...invalid("DELETE /admin/…/keys/{key_id}: a key id of 65 characters", `/admin/clients/${CLIENT}/keys/${long(65)}`, undefined, "key_id", /key_id/, "DELETE"), as: "admin" },
  { ...invalid("PUT /admin/…/config: callback_rules not a list", `/admin/clients/${CLIENT}/config`, { callback_rules: "all" }, "callback_rules", /callback_rules/, "PUT"), as: "admin" },
  {
    ...invalid("PUT /admin/…/config: a header value with CR/LF", `/admin/clients/${CLIENT}/config`, { callback_rules: [{ prefix: "https://cms.example/", headers: { "x-token": "a\r\nX-Injected: 1" } }] }, "callback_rules[0].headers.x-token", /field value/, "PUT"),
    as: "admin",
  },
  ...["Bearer \u0001x", "Bearer x\u007f", "a\u0000b", " Bearer x", "Bearer x\t", "Bearer \u20ac"].map((value) => ({
    ...invalid(`PUT /admin/…/config: a header value ${JSON.stringify(value)}`, `/admin/clients/${CLIENT}/config`, { callback_rules: [{ prefix: "https://cms.example/", headers: { "x-token": value } }] }, "callback_rules[0].headers.x-token", /field value/, "PUT"),
    as: "admin" as const,
  })),
  { ...invalid("PUT /admin/…/config: a prefix with a tab", `/admin/clients/${CLIENT}/config`, { callback_rules: [{ prefix: "https://cms.example/\t" }] }, "callback_rules[0].prefix", /control/, "PUT"), as: "admin" },
  // 415 answers say unsupported_media_type, also where a route's own body check refuses the type.
  { name: "POST /admin/clients: text/plain", method: "POST", path: "/admin/clients", raw: "name=x", type: "text/plain", as: "admin", status: 415, code: "unsupported_media_type", says: /JSON/ },
  { name: "POST /admin/…/signing-secrets: text/plain without a body", method: "POST", path: `/admin/clients/${CLIENT}/signing-secrets`, raw: "", type: "text/plain", as: "admin", status: 415, code: "unsupported_media_type", says: /JSON/ },
  { name: "POST /admin/…/keys: text/plain without a body", method: "POST", path: `/admin/clients/${CLIENT}/keys`, raw: "", type: "text/plain", as: "admin", status: 415, code: "unsupported_media_type", says: /JSON/ },
  {
    ...invalid("PUT /admin/…/config: an engine-owned header", `/admin/clients/${CLIENT}/config`, { callback_rules: [{ prefix: "https://cms.example/", headers: { "webhook-signature": "forged" } }] }, "callback_rules[0].headers", /engine-owned/, "PUT"),
    as: "admin",
  },
  {
    name: "PUT /admin/…/config: a body_template nested 100,000 deep",
    method: "PUT",
    path: `/admin/clients/${CLIENT}/config`,
    raw: `{"callback_rules": [{"prefix": "https://cms.example/", "body_template": ${nested(100_000)}}]}`,
    as: "admin",
    status: 400,
    code: "validation_failed",
    says: /deeper than 64 levels/,
  },
  { ...invalid("PUT /admin/…/config: 51 rules", `/admin/clients/${CLIENT}/config`, { callback_rules: Array.from({ length: 51 }, (_, i) => ({ prefix: `https://cms.example/${i}` })) }, "callback_rules", /callback_rules/, "PUT"), as: "admin" },
  { ...invalid("PUT /admin/…/storage: an unknown driver", `/admin/clients/${CLIENT}/storage`, { locations: { S3: { driver: "ftp" } } }, "locations.S3.driver", /driver/, "PUT"), as: "admin" },
  { ...invalid("POST /admin/…/signing-secrets: a negative overlap", `/admin/clients/${CLIENT}/signing-secrets`, { overlap_seconds: -1 }, "overlap_seconds", /overlap_seconds/), as: "admin" },
  { ...invalid('POST /admin/…/signing-secrets: overlap "1 day"', `/admin/clients/${CLIENT}/signing-secrets`, { overlap_seconds: "1 day" }, "overlap_seconds", /overlap_seconds/), as: "admin" },
];

/**
 * Everything a bad request could have changed: the client's jobs in the D1 job index and in their
 * coordinators (their state, log and delivery log; not the cost ledger, which counts every request), and the
 * engine's client records.
 */
async function state(): Promise<unknown> {
  const jobIds = (await rows<{ id: string }>(`SELECT id FROM jobs WHERE client = ? ORDER BY id`, CLIENT)).map((row) => row.id);
  const coordinator = async (id: string) => {
    const stub = coordinatorOf(id);
    const snapshot = await stub.snapshot();
    const { ledger: _ledger, ...rest } = snapshot!;
    return { ...rest, logs: await stub.logs(CLIENT), deliveries: await stub.deliveries(CLIENT) };
  };
  return {
    jobs: await rows(`SELECT * FROM jobs WHERE client = ? ORDER BY id`, CLIENT),
    coordinators: await Promise.all(jobIds.map(coordinator)),
    settings: await rows(`SELECT * FROM settings WHERE client = ? ORDER BY name`, CLIENT),
    schedules: await rows(`SELECT * FROM schedules WHERE client = ? ORDER BY name`, CLIENT),
    idempotency: await rows(`SELECT * FROM idempotency_keys WHERE client = ?`, CLIENT),
    clients: await rows(`SELECT name, config FROM clients ORDER BY name`),
    keys: await rows(`SELECT id, client, key_hash, revoked_at FROM api_keys ORDER BY id`),
  };
}

function requestOf(testCase: Case): RequestInit {
  const sent: Record<string, string> = testCase.as === "admin" ? { authorization: `Bearer ${ADMIN_TOKEN}` } : { ...headers };
  const body = testCase.raw ?? (testCase.body === undefined ? undefined : JSON.stringify(testCase.body, fill));
  if (body !== undefined && testCase.type !== null) sent["content-type"] = testCase.type ?? "application/json";
  Object.assign(sent, testCase.extraHeaders);
  return { method: testCase.method ?? "GET", headers: sent, body };
}

/** Puts the ids made in beforeAll into a case's strings. */
function fill(_key: string, value: unknown): unknown {
  return typeof value === "string" ? value.replaceAll("{job}", ids.job).replaceAll("{callback}", ids.callback) : value;
}

beforeAll(async () => {
  interceptFetch(() => new Response("ok"));
  headers = await createClient(CLIENT);
  // The corpus sends well over the default burst of 100 requests; the rate limit has its own test.
  for (const [name, setting] of [["rate_burst", "100000"], ["rate_limit", "100000"]]) {
    expect((await postJson("/settings", { name, setting }, headers)).status).toBe(200);
  }
  ids.job = await submitSelftest(headers, { content_id: "corpus", tasks: 1, rest_endpoints: ["https://cms.receiver.invalid/hook"] }, { priority: 4 });
  await waitForJobEnd(ids.job, headers);
  const delivered = await waitFor(
    async () => (await coordinatorOf(ids.job).deliveries(CLIENT)) ?? [],
    (found) => found.length > 0 && found.every((row) => row.state === "delivered"),
  );
  ids.callback = delivered[0]!.callback_id;
}, 30_000);

afterAll(() => {
  vi.restoreAllMocks();
});

describe("the bad-input corpus", () => {
  it("has at least 100 malformed requests, each named once", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    expect(new Set(CASES.map((testCase) => testCase.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((testCase) => [testCase.name, testCase] as const))("%s → 4xx, a clear error, nothing changed", async (_name, testCase) => {
    const before = await state();
    const path = testCase.path.replaceAll("{job}", ids.job).replaceAll("{callback}", ids.callback);
    const init = requestOf(testCase);
    const response = testCase.as === "admin" ? await callWithBindings(path, init, { ADMIN_TOKEN }) : await call(path, init);
    const text = await response.text();
    const label = `${init.method} ${path.slice(0, 120)} → ${response.status} ${text.slice(0, 300)}`;
    expect(response.status, label).toBe(testCase.status);
    expect(response.headers.get("content-type"), label).toMatch(/^application\/json/);
    expect(response.headers.get("x-request-id"), label).toMatch(REQUEST_ID);
    const body = JSON.parse(text) as ErrorBody;
    expect(body.code, label).toBe(testCase.code);
    expect(body.error, label).toMatch(testCase.says);
    expect(body.error, label).not.toMatch(/\n\s+at |Error:|D1_|SQLITE/);
    // An answer never grows with the input: echoed values are clipped.
    expect(text.length, label).toBeLessThan(4096);
    expect(Object.keys(body).every((key) => ["error", "code", "details", "id"].includes(key)), label).toBe(true);
    if (testCase.code === "validation_failed" && testCase.detail !== undefined) {
      expect(body.details?.length, label).toBeGreaterThan(0);
      if (testCase.detail !== "") expect(body.details!.map((detail) => detail.path), label).toContain(testCase.detail);
      for (const detail of body.details!) expect(detail.message, label).not.toBe("");
    }
    expect(await state(), label).toEqual(before);
  });

  it("reads a body nested exactly 64 deep, and a content_id with ordinary non-ASCII text", async () => {
    const other = await createClient("corpus-control-client");
    const body = `{"job": {"workflow": "selftest"}, "parameters": {"content_id": "Ünïcödé – 日本語 😀", "tasks": 1, "custom_data": ${nested(62)}}}`;
    const response = await call("/job", { method: "POST", headers: { ...other, "content-type": "application/json" }, body });
    expect(response.status, await response.clone().text()).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(await waitForJobEnd(id, other)).toMatchObject({ queue_state: "completed", parameters: { content_id: "Ünïcödé – 日本語 😀" } });
  });

  it("leaves the corpus client with its one job, unchanged", async () => {
    const listed = await getJson<{ id: string; priority: number; queue_state: string; failed: boolean; persist: boolean }[]>("/jobs?limit=100", headers);
    expect(listed.status).toBe(200);
    expect(listed.body.map(({ id, priority, queue_state, failed, persist }) => ({ id, priority, queue_state, failed, persist }))).toEqual([
      { id: ids.job, priority: 4, queue_state: "completed", failed: false, persist: false },
    ]);
  });
});
