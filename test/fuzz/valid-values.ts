import fc from "fast-check";
import { fromPool, SETTING_NAMES, type FuzzContext, type JobRef } from "./fuzz-context.ts";
import type { Operation } from "./openapi-operations.ts";
import type { ArbitraryOptions } from "./schema-arbitrary.ts";

/**
 * What the document cannot say but a meaningful valid request needs: ids and names that exist, URLs that
 * reach the local sink, times far from now (a job must not start on its own in the middle of a state
 * check), small selftest jobs, secrets the leak check can recognise, setting values in their ranges.
 * Everything else of a valid request comes from the schemas.
 */

const word = fc.stringMatching(/^[a-z0-9]{4,10}$/);
const hex16 = fc.stringMatching(/^[0-9a-f]{16}$/);

/** A secret the leak check recognises (long, distinctive). */
export const secretToken = (label: string) => hex16.map((hex) => `${label}_${hex}${hex}`);

/** A UTC time long past or far ahead (2090s), in the formats the API accepts. */
export const farTime = fc
  .oneof(
    fc.date({ min: new Date("2001-01-01T00:00:00Z"), max: new Date("2020-12-31T00:00:00Z"), noInvalidDate: true }),
    fc.date({ min: new Date("2090-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }),
  )
  .chain((date) => {
    const iso = date.toISOString();
    return fc.constantFrom(iso, iso.replace(/\.\d+Z$/, "Z"), iso.replace(/Z$/, ""), iso.replace(/Z$/, "+00:00"));
  });

const relativePath = fc.tuple(word, word).map(([a, b]) => `fuzz/${a}/${b}`);

/** Overrides for the schema converter: by field name, and for a few operations by path. */
export function valueOverrides(op: Operation, ctx: FuzzContext): NonNullable<ArbitraryOptions["override"]> {
  const sinkUrl = fc.nat({ max: 99 }).map((n) => `${ctx.sinkUrl}/hook/${n}`);
  return (path) => {
    const last = path[path.length - 1];
    const joined = path.join(".");
    if (op.key === "POST /admin/clients" && joined === "name") return word.map((name) => `fz-${name}`);
    if (op.key === "POST /settings" && path.length === 0) return settingRequest();
    if (op.key === "PUT /scheduler" && joined === "schedule") return fromPool(() => ctx.schedules, "retention_cleanup");
    if (joined === "callback_rules.*.headers") {
      return fc.dictionary(word.map((name) => `x-fuzz-${name}`), secretToken("hdrsecret"), { maxKeys: 2 });
    }
    if (path[0] === "locations" && last === "roots") return fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), relativePath, { maxKeys: 2 });
    switch (last) {
      case "run_at":
        return farTime;
      case "semaphore_url":
      case "sempahore_url":
        return fc.nat({ max: 99 }).map((n) => `${ctx.sinkUrl}/semaphore/${n}`);
      case "rest_endpoints":
        return fc.array(sinkUrl, { maxLength: 2 });
      case "prefix":
        return fc.constantFrom(`${ctx.sinkUrl}/hook/`, "https://cms.example/hooks/");
      case "secret_access_key":
      case "session_token":
      case "sas_token":
        return secretToken(last);
      case "access_key_id":
        return hex16.map((hex) => `AKIAFUZZ${hex.toUpperCase()}`);
      case "endpoint":
      case "container_url":
        return word.map((name) => `https://storage.example/${name}`);
      case "binding":
        return fc.constant("MEDIA");
      case "folder":
        return relativePath;
      case "files":
        return fc.array(relativePath.map((path) => `${path}.txt`), { minLength: 1, maxLength: 3 });
      case "content_id":
        return word.map((name) => `fz-${name}`);
      case "tasks":
        return fc.integer({ min: 1, max: 3 });
      case "task_ms":
        return fc.integer({ min: 0, max: 50 });
      case "fail_task":
        return fc.constantFrom(null, "task_1");
      case "fail_times":
        return fc.integer({ min: 0, max: 2 });
      case "custom_data":
        return fc.jsonValue({ maxDepth: 2 });
      case "body_template":
        // Placeholders that exist, nest, miss, or name what every object inherits.
        return fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.dictionary(word, fc.constantFrom("{{job_id}}", "{{status}}", "job {{job_id}}: {{message}}", "{{custom_data.ref}}", "{{constructor}}", "{{__proto__.x}}", "{{nope.deeper}}", "{{sequence}}"), { maxKeys: 4 }),
        );
      case "output_root":
        return fc.constant("output_root");
      case "source_storage":
        return fc.constantFrom("R2", "R2", "R2", "S3");
      case "priority":
        // Priority 1 is the fuzzer's own: its slot holder and its replacement seeds go first.
        return fc.integer({ min: 2, max: 10 });
      case "client":
        return fc.constant(ctx.main.name);
      default:
        return undefined;
    }
  };
}

/** A setting and a value in its range; never the rate limit of the fuzzed client down to a trickle, nor one slot more. */
function settingRequest(): fc.Arbitrary<unknown> {
  const values: Record<(typeof SETTING_NAMES)[number], fc.Arbitrary<string | number>> = {
    max_jobs: fc.constant(1),
    priority_slots: fc.constant(0),
    priority_threshold: fc.integer({ min: 1, max: 10 }),
    schedule_interval: fc.integer({ min: 1, max: 86_400 }),
    // Short retries: fuzzed jobs run now and then (drains) and must end within seconds.
    retry_delay: fc.integer({ min: 0, max: 2 }),
    retry_limit: fc.integer({ min: 0, max: 2 }).map(String),
    callback_retry_schedule: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }).map((delays) => delays.join(",")),
    retention_days: fc.integer({ min: 1, max: 3650 }).map(String),
    rate_limit: fc.integer({ min: 50_000, max: 100_000 }),
    rate_burst: fc.integer({ min: 50_000, max: 100_000 }).map(String),
  };
  return fc.constantFrom(...SETTING_NAMES).chain((name) => values[name].map((setting) => ({ name, setting })));
}

/** Valid values of GET /jobs and GET /logs/{id} query parameters (the document types most as plain strings). */
export function validQueryValue(name: string, ctx: FuzzContext): fc.Arbitrary<string> | undefined {
  switch (name) {
    case "limit":
      return fc.integer({ min: 1, max: 100 }).map(String);
    case "order_by":
      return fc.constantFrom("created_at", "updated_at", "priority");
    case "asc":
    case "failed":
    case "persist":
    case "show_all":
      return fc.constantFrom("1", "0", "true", "false");
    case "state":
      return fc.constantFrom("queued", "started", "completed", "pending", "broken", "scheduled", "paused", "0", "1", "2", "3", "4", "5", "6");
    case "from":
    case "to":
      return farTime;
    case "search":
      return fc.constantFrom("fz-", "fuzz", "f", "seed-");
    case "job_ids":
      return fc.array(fromPool(() => ctx.ownJobs.map((job) => job.id), "01JD5Q3Y8Z6K7M8N9P0QRSTVWX"), { minLength: 1, maxLength: 5 }).map((ids) => ids.join(","));
    case "workflow":
      return fromPool(() => ctx.workflows.map((workflow) => workflow.name), "selftest");
    case "client":
      return fc.constant(ctx.main.name);
    case "cursor":
      return fromPool(() => ctx.cursors, "");
    default:
      return undefined;
  }
}

/** Valid path parameters of an operation, picked together (a callback id of that job, a key of that client). */
export function validPathValues(op: Operation, ctx: FuzzContext): fc.Arbitrary<Record<string, string>> {
  const names = op.pathParams.map((parameter) => parameter.name);
  if (names.includes("callback_id")) {
    return fromPool(() => ctx.callbacks, { jobId: "unknown", callbackId: "unknown" }).map(({ jobId, callbackId }) => ({ id: jobId, callback_id: callbackId }));
  }
  if (names.includes("key_id")) {
    const pairs = () => ctx.sacrificial.flatMap((client) => client.activeKeyIds.map((keyId) => ({ name: client.name, key_id: keyId })));
    return fromPool(pairs, { name: "fz-none", key_id: "00000000-0000-4000-8000-000000000000" });
  }
  if (names.includes("id")) return jobId(op, ctx).map((id) => ({ id }));
  if (names.includes("name") && op.path.startsWith("/workflows")) return fromPool(() => ctx.workflows.map((workflow) => workflow.name), "selftest").map((name) => ({ name }));
  if (names.includes("name")) return adminClientName(op, ctx).map((name) => ({ name }));
  return fc.constant({});
}

/** Reads any job; changes go mostly to jobs the fuzz made, so the seeded ones last. */
function jobId(op: Operation, ctx: FuzzContext): fc.Arbitrary<string> {
  const ids = (jobs: JobRef[]) => jobs.map((job) => job.id);
  const any = fromPool(() => ids(ctx.ownJobs), "01JD5Q3Y8Z6K7M8N9P0QRSTVWX");
  if (op.method === "GET") return any;
  const made = fromPool(() => ids(ctx.ownJobs.filter((job) => !job.seeded)), "01JD5Q3Y8Z6K7M8N9P0QRSTVWX");
  return fc.oneof({ arbitrary: made, weight: 4 }, { arbitrary: any, weight: 1 });
}

/**
 * The operator API's `name`: reading any client; adding a key, rotating the signing secret or setting the
 * callback rules also of the fuzzed client (its jobs then send templated callbacks when they run); storage
 * and key revocation only of sacrificial clients.
 */
function adminClientName(op: Operation, ctx: FuzzContext): fc.Arbitrary<string> {
  const sacrificial = fromPool(() => ctx.sacrificial.map((client) => client.name), "fz-none");
  if (op.method === "GET") return fc.oneof(sacrificial, fc.constantFrom(ctx.main.name, ctx.other.name));
  if (op.key.endsWith("/keys") || op.key.endsWith("/signing-secrets") || op.key.endsWith("/config")) return fc.oneof(sacrificial, fc.constant(ctx.main.name));
  return sacrificial;
}
