import fc from "fast-check";
import { BAD_IDEMPOTENCY_KEYS, badAdminAuth, badClientAuth, badPathValues, badQueryValues, rawQueryOddities, type Bad } from "./bad-inputs.ts";
import { fromPool, type FuzzContext } from "./fuzz-context.ts";
import type { FuzzRequest } from "./fuzz-request.ts";
import { HOSTILE_STRINGS } from "./hostile-strings.ts";
import { deref, type JsonSchema, type SchemaObject } from "./json-schema.ts";
import { undeclaredMethods, type OpenApiDocument, type Operation } from "./openapi-operations.ts";
import { JSON_MEDIA_TYPE_VARIANTS, NON_JSON_MEDIA_TYPES, rawBodyVariants } from "./raw-bodies.ts";
import { arbitraryFor } from "./schema-arbitrary.ts";
import { encodeLoose } from "./url-encoding.ts";
import { validPathValues, validQueryValue, valueOverrides } from "./valid-values.ts";
import { mutatedValue, type Expectation } from "./value-mutations.ts";

/**
 * Per operation of the document, two arbitraries of wire requests: `valid` (everything from the schemas, with
 * valid-values.ts for what they cannot say) and `mutated` (a valid request with one thing broken: the
 * credentials, the body's values, the body's bytes, the media type, a query parameter, a path parameter,
 * the Idempotency-Key, or the method).
 */

export interface OperationArbitraries {
  op: Operation;
  valid: fc.Arbitrary<FuzzRequest>;
  mutated: fc.Arbitrary<FuzzRequest>;
}

interface BodyVariant {
  schema: JsonSchema;
  root: unknown;
  valid: fc.Arbitrary<unknown>;
}

/** The parts a request is assembled from. */
interface Parts {
  ip: string;
  headers: Record<string, string>;
  path: Record<string, string>;
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
const sourceAddress = fc.noBias(
  fc.oneof(
    fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `10.${a}.${b}.${c}`),
    fc.tuple(fc.nat(0xffff), fc.nat(0xffff)).map(([a, b]) => `2001:db8::${a.toString(16)}:${b.toString(16)}`),
  ),
);

export function operationArbitraries(doc: OpenApiDocument, ops: Operation[], ctx: FuzzContext, problems: string[]): OperationArbitraries[] {
  // Every schema of the document converted as it stands, overrides aside, so its problems are reported.
  for (const op of ops) {
    for (const parameter of [...op.pathParams, ...op.queryParams, ...op.headerParams]) arbitraryFor(parameter.schema, { root: doc, problems, path: [op.key, parameter.name] });
    if (op.body) arbitraryFor(op.body.schema, { root: doc, problems, path: [op.key, "body"] });
  }
  return ops.map((op) => {
    const bodies = bodyVariants(doc, op, ctx, problems);
    const parts = validParts(op, ctx, problems);
    return { op, valid: validRequest(op, ctx, parts, bodies), mutated: mutatedRequest(doc, op, ctx, parts, bodies) };
  });
}

/** The body schemas of an operation; POST /job has one per workflow (its `parameters` schema inlined). */
function bodyVariants(doc: OpenApiDocument, op: Operation, ctx: FuzzContext, problems: string[]): BodyVariant[] {
  if (!op.body) return [];
  const override = valueOverrides(op, ctx);
  if (op.key !== "POST /job") return [{ schema: op.body.schema, root: doc, valid: arbitraryFor(op.body.schema, { root: doc, override, problems }) }];
  const request = deref(op.body.schema, doc) as SchemaObject;
  return ctx.workflows.map((workflow) => {
    const parameters = workflow.parameters as SchemaObject;
    const schema: SchemaObject = { ...request, properties: { ...request.properties, parameters } };
    const root = { ...doc, $defs: parameters.$defs };
    const valid = arbitraryFor(schema, {
      root,
      problems,
      override: (path, node) => (path.join(".") === "job.workflow" ? fc.constant(workflow.name) : override(path, node)),
    });
    return { schema, root, valid };
  });
}

/** Valid parts (without the body) of a request to `op`. */
function validParts(op: Operation, ctx: FuzzContext, problems: string[]): fc.Arbitrary<Parts> {
  const query = fc
    .tuple(
      ...op.queryParams.map((parameter) => {
        const value = validQueryValue(parameter.name, ctx) ?? arbitraryFor(parameter.schema, { root: {}, problems }).map(String);
        return fc.option(value.map((text) => `${encodeLoose(parameter.name)}=${encodeLoose(text)}`), { nil: undefined, freq: 2 });
      }),
    )
    .map((pairs) => pairs.filter((pair) => pair !== undefined).join("&"));
  const path = validPathValues(op, ctx).map((values) => Object.fromEntries(Object.entries(values).map(([name, value]) => [name, encodeLoose(value)])));
  const contentType = fc.oneof({ arbitrary: fc.constant("application/json"), weight: 6 }, { arbitrary: fc.constantFrom(...JSON_MEDIA_TYPE_VARIANTS), weight: 1 });
  return fc.record({ ip: sourceAddress, headers: validAuth(op, ctx), path, query, contentType });
}

function validAuth(op: Operation, ctx: FuzzContext): fc.Arbitrary<Record<string, string>> {
  if (op.auth === "admin") return fc.constant({ authorization: `Bearer ${ctx.adminToken}` });
  if (op.auth === "none") return fc.constant({});
  return fc.constantFrom<Record<string, string>>({ client: ctx.main.name, "api-key": ctx.main.apiKey }, { client: ctx.main.name, "x-api-key": ctx.main.apiKey });
}

function validRequest(op: Operation, ctx: FuzzContext, parts: fc.Arbitrary<Parts>, bodies: BodyVariant[]): fc.Arbitrary<FuzzRequest> {
  const withBody = (variant: BodyVariant | undefined) =>
    fc.tuple(parts, !variant ? fc.constant(undefined) : op.body?.required ? variant.valid : fc.option(variant.valid, { nil: undefined, freq: 3 })).map(([p, value]) => {
      const body = value === undefined ? undefined : JSON.stringify(value);
      const request = assemble(op, { ...p, body, contentType: body === undefined ? undefined : p.contentType }, "valid", "", "either");
      if (body !== undefined && p.contentType !== "application/json") request.jsonMediaTypeVariant = true;
      return request;
    });
  const fresh = bodies.length > 0 ? fc.oneof(...bodies.map(withBody)) : withBody(undefined);
  if (op.key !== "POST /job") return fresh;
  // POST /job: a fresh Idempotency-Key now and then, and replays of a key with the body it was used with (200).
  const keyed = fc.tuple(fresh, fc.stringMatching(/^[0-9a-f]{12}$/)).map(([request, key]) => ({ ...request, headers: { ...request.headers, "idempotency-key": `fz-${key}` } }));
  const replay = fc.tuple(fresh, fromPool(() => ctx.idempotency, undefined)).map(([request, used]) =>
    used ? { ...request, body: used.body, headers: { ...request.headers, "content-type": "application/json", "idempotency-key": used.key }, jsonMediaTypeVariant: false, mutation: "" } : request,
  );
  return fc.oneof({ arbitrary: fresh, weight: 4 }, { arbitrary: keyed, weight: 2 }, { arbitrary: replay, weight: 1 });
}

function mutatedRequest(doc: OpenApiDocument, op: Operation, ctx: FuzzContext, parts: fc.Arbitrary<Parts>, bodies: BodyVariant[]): fc.Arbitrary<FuzzRequest> {
  const body = bodies.length > 0 ? fc.oneof(...bodies.map((variant) => variant.valid)) : fc.constant(undefined);
  const validBody = (value: unknown) => (value === undefined ? undefined : JSON.stringify(value));
  const axes: { arbitrary: fc.Arbitrary<FuzzRequest>; weight: number }[] = [];

  if (op.auth !== "none") {
    const bads = op.auth === "admin" ? badAdminAuth(ctx.main, ctx.adminToken) : badClientAuth(ctx.main, ctx.other, ctx.adminToken);
    const revoked = fromPool(
      () => ctx.revoked.map((credentials) => ({ value: { client: credentials.name, "api-key": credentials.apiKey }, description: "revoked key", expect: "refused" as Expectation })),
      bads[0]!,
    );
    const auth = op.auth === "client" ? fc.oneof({ arbitrary: fc.constantFrom(...bads), weight: 8 }, { arbitrary: revoked, weight: 1 }) : fc.constantFrom(...bads);
    axes.push({
      weight: 3,
      arbitrary: fc.tuple(parts, body, auth).map(([p, value, bad]) => assemble(op, { ...p, headers: bad.value, body: validBody(value) }, "mutated", `credentials: ${bad.description}`, bad.expect)),
    });
  }

  if (bodies.length > 0) {
    const mutation = fc.oneof(...bodies.map((variant) => mutatedValue(variant.schema, variant.valid, variant.root)));
    axes.push({
      weight: 5,
      arbitrary: fc.tuple(parts, mutation).map(([p, m]) => assemble(op, { ...p, contentType: "application/json", body: JSON.stringify(m.value) }, "mutated", `body ${m.description}`, m.expect)),
    });
    const raw = body.chain((value) => fc.constantFrom(...rawBodyVariants(value)));
    axes.push({
      weight: 2,
      arbitrary: fc.tuple(parts, raw).map(([p, r]) => assemble(op, { ...p, contentType: "application/json", body: r.body }, "mutated", `raw body: ${r.description}`, r.expect)),
    });
    const mediaType = fc.constantFrom<string | undefined>(undefined, ...NON_JSON_MEDIA_TYPES);
    axes.push({
      weight: 1,
      arbitrary: fc.tuple(parts, body, mediaType).map(([p, value, type]) =>
        assemble(op, { ...p, contentType: type, body: validBody(value) ?? "{}" }, "mutated", `content-type: ${type ?? "(none)"}`, "refused"),
      ),
    });
  }

  if (op.queryParams.length > 0) {
    const query = fc.constantFrom(...op.queryParams).chain((parameter) => {
      const valid = validQueryValue(parameter.name, ctx) ?? fc.constant("x");
      const encode = (value: string) => `${encodeLoose(parameter.name)}=${encodeLoose(value)}`;
      const semantic = badQueryValues(parameter.name, ctx.other.name).map((item) => ({ ...item, value: encode(item.value) }));
      const fromSchema = schemaBadStrings(parameter.schema).map((item) => ({ ...item, value: encode(item.value) }));
      const hostile = HOSTILE_STRINGS.map((item): Bad<string> => ({ value: encode(item.value), description: `hostile string (${item.label})`, expect: "either" }));
      const odd = valid.map((value) => rawQueryOddities(parameter.name, value));
      return fc
        .oneof(
          ...(semantic.length + fromSchema.length > 0 ? [{ arbitrary: fc.constantFrom(...semantic, ...fromSchema), weight: 3 }] : []),
          { arbitrary: fc.constantFrom(...hostile), weight: 1 },
          { arbitrary: odd.chain((items) => fc.constantFrom(...items)), weight: 1 },
        )
        .map((item) => ({ ...item, description: `query ${parameter.name}: ${item.description}` }));
    });
    axes.push({
      weight: 3,
      arbitrary: fc.tuple(parts, body, query).map(([p, value, q]) => assemble(op, { ...p, query: q.value, body: validBody(value) }, "mutated", q.description, q.expect)),
    });
  }

  if (op.pathParams.length > 0) {
    const choice = fc.constantFrom(...op.pathParams).chain((parameter) => {
      const isAdminName = parameter.name === "name" && op.path.startsWith("/admin");
      type PathValue = Bad<string> & { foreign: boolean };
      const garbage = badPathValues(parameter.name, isAdminName).map((item): PathValue => ({ ...item, foreign: false }));
      const options: fc.Arbitrary<PathValue>[] = [fc.constantFrom(...garbage)];
      if (parameter.name === "id") {
        const foreign = () => ctx.foreignJobs.map((job): PathValue => ({ value: job.id, description: `another client's job (${job.state})`, expect: "refused", foreign: true }));
        options.push(fromPool(foreign, garbage[0]!));
      }
      if (parameter.name === "key_id") {
        options.push(fc.constant<PathValue>({ value: ctx.main.keyId, description: "the fuzzed client's key id under another name", expect: "refused", foreign: false }));
      }
      return fc.oneof(...options).map((item) => ({ ...item, parameter: parameter.name }));
    });
    axes.push({
      weight: 3,
      arbitrary: fc.tuple(parts, body, choice).map(([p, value, item]) => {
        const request = assemble(op, { ...p, path: { ...p.path, [item.parameter]: item.value }, body: validBody(value) }, "mutated", `path ${item.parameter}: ${item.description}`, item.expect);
        if (item.foreign) request.foreignId = true;
        return request;
      }),
    });
  }

  if (op.headerParams.some((parameter) => parameter.name === "idempotency-key")) {
    const badKey = fc.constantFrom(...BAD_IDEMPOTENCY_KEYS).map((item) => ({ key: item.value, description: `Idempotency-Key ${item.description}`, sameBody: false }));
    const reused = fromPool(() => ctx.idempotency, undefined).map((used) =>
      used ? { key: used.key, description: "Idempotency-Key reused with another body", sameBody: false } : { key: "", description: "Idempotency-Key empty", sameBody: false },
    );
    axes.push({
      weight: 2,
      arbitrary: fc.tuple(parts, body, fc.oneof(badKey, reused)).map(([p, value, k]) =>
        assemble(op, { ...p, headers: { ...p.headers, "idempotency-key": k.key }, contentType: "application/json", body: validBody(value) }, "mutated", k.description, "refused"),
      ),
    });
  }

  const methods = undeclaredMethods(doc, op.path);
  axes.push({
    weight: 1,
    arbitrary: fc.tuple(parts, fc.constantFrom(...methods)).map(([p, method]) => {
      const request = assemble(op, { ...p, body: method === "GET" || method === "OPTIONS" ? undefined : "{}", contentType: "application/json" }, "mutated", `method ${method} on ${op.path}`, "refused");
      return { ...request, method, operation: UNDECLARED_METHOD };
    }),
  });

  return fc.oneof(...axes);
}

/** Strings a parameter's own schema forbids (length, pattern, enum, integer). */
function schemaBadStrings(schema: JsonSchema): Bad<string>[] {
  if (typeof schema !== "object") return [];
  const items: Bad<string>[] = [];
  if (schema.maxLength !== undefined) items.push({ value: "a".repeat(schema.maxLength + 1), description: `longer than maxLength ${schema.maxLength}`, expect: "refused" });
  if (schema.minLength !== undefined && schema.minLength > 0) items.push({ value: "", description: `shorter than minLength ${schema.minLength}`, expect: "refused" });
  if (schema.enum) items.push({ value: "zz-not-in-enum", description: "not one of the enum", expect: "refused" });
  if (schema.pattern !== undefined) items.push({ value: "zz top", description: `off pattern ${schema.pattern}`, expect: "refused" });
  if (schema.type === "integer") {
    if (schema.minimum !== undefined) items.push({ value: String(schema.minimum - 1), description: `below minimum ${schema.minimum}`, expect: "refused" });
    if (schema.maximum !== undefined) items.push({ value: String(schema.maximum + 1), description: `above maximum ${schema.maximum}`, expect: "refused" });
    items.push({ value: "abc", description: "not an integer", expect: "refused" });
  }
  return items;
}

/** The wire request: path parameters substituted, query appended, source address, media type and body set. */
function assemble(op: Operation, parts: Parts, intent: FuzzRequest["intent"], mutation: string, expect: Expectation): FuzzRequest {
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
