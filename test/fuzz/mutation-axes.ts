import fc from "fast-check";
import { BAD_IDEMPOTENCY_KEYS, badAdminAuth, badClientAuth, badPathValues, badQueryValues, rawQueryOddities, type Bad } from "./bad-inputs.ts";
import { fromPool, type FuzzContext } from "./fuzz-context.ts";
import type { FuzzRequest } from "./fuzz-request.ts";
import { HOSTILE_STRINGS } from "./hostile-strings.ts";
import type { JsonSchema } from "./json-schema.ts";
import { undeclaredMethods, type OpenApiDocument, type Operation, type Parameter } from "./openapi-operations.ts";
import { NON_JSON_MEDIA_TYPES, rawBodyVariants } from "./raw-bodies.ts";
import { assemble, UNDECLARED_METHOD, type BodyVariant, type Parts } from "./request-parts.ts";
import { encodeLoose } from "./url-encoding.ts";
import { validQueryValue } from "./valid-values.ts";
import { mutatedValue } from "./value-mutations.ts";

/**
 * Mutated requests: a valid request with one thing broken. One axis per kind of breakage: the credentials,
 * the body's values, the body's bytes, the media type, a query parameter, a path parameter, the
 * Idempotency-Key, the method. An operation gets the axes that apply to it.
 */

/** The inputs every axis works from. */
interface Base {
  doc: OpenApiDocument;
  op: Operation;
  ctx: FuzzContext;
  /** Valid parts of a request (credentials, path, query, source address). */
  parts: fc.Arbitrary<Parts>;
  bodies: BodyVariant[];
  /** A valid body (undefined for operations without one). */
  body: fc.Arbitrary<string | undefined>;
}

type Axis = { arbitrary: fc.Arbitrary<FuzzRequest>; weight: number };

export function mutatedRequest(doc: OpenApiDocument, op: Operation, ctx: FuzzContext, parts: fc.Arbitrary<Parts>, bodies: BodyVariant[]): fc.Arbitrary<FuzzRequest> {
  const body = bodies.length > 0 ? fc.oneof(...bodies.map((variant) => variant.valid.map((value) => JSON.stringify(value)))) : fc.constant(undefined);
  const base: Base = { doc, op, ctx, parts, bodies, body };
  const axes = [credentials(base), ...bodyAxes(base), query(base), path(base), idempotencyKey(base), method(base)].filter((axis): axis is Axis => axis !== null);
  return fc.oneof(...axes);
}

function credentials({ op, ctx, parts, body }: Base): Axis | null {
  if (op.auth === "none") return null;
  const bads = op.auth === "admin" ? badAdminAuth(ctx.main, ctx.adminToken) : badClientAuth(ctx.main, ctx.other, ctx.adminToken);
  const revoked = fromPool(
    () => ctx.revoked.map((key): Bad<Record<string, string>> => ({ value: { client: key.name, "api-key": key.apiKey }, description: "revoked key", expect: "refused" })),
    bads[0]!,
  );
  const auth = op.auth === "client" ? fc.oneof({ arbitrary: fc.constantFrom(...bads), weight: 8 }, { arbitrary: revoked, weight: 1 }) : fc.constantFrom(...bads);
  return {
    weight: 3,
    arbitrary: fc.tuple(parts, body, auth).map(([p, value, bad]) => assemble(op, { ...p, headers: bad.value, body: value }, "mutated", `credentials: ${bad.description}`, bad.expect)),
  };
}

/** The body's values (schema-breaking and hostile), its bytes, and its media type. */
function bodyAxes({ op, parts, bodies, body }: Base): Axis[] {
  if (bodies.length === 0) return [];
  const values = fc.oneof(...bodies.map((variant) => mutatedValue(variant.schema, variant.valid, variant.root)));
  const raw = fc.oneof(...bodies.map((variant) => variant.valid)).chain((value) => fc.constantFrom(...rawBodyVariants(value)));
  const mediaType = fc.constantFrom<string | undefined>(undefined, ...NON_JSON_MEDIA_TYPES);
  return [
    {
      weight: 5,
      arbitrary: fc.tuple(parts, values).map(([p, m]) => assemble(op, { ...p, contentType: "application/json", body: JSON.stringify(m.value) }, "mutated", `body ${m.description}`, m.expect)),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(parts, raw).map(([p, r]) => assemble(op, { ...p, contentType: "application/json", body: r.body }, "mutated", `raw body: ${r.description}`, r.expect)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(parts, body, mediaType).map(([p, value, type]) =>
        assemble(op, { ...p, contentType: type, body: value ?? "{}" }, "mutated", `content-type: ${type ?? "(none)"}`, "refused"),
      ),
    },
  ];
}

/** One query parameter: off its schema, off its meaning (README "Listing"), hostile, or oddly encoded. */
function query({ op, ctx, parts, body }: Base): Axis | null {
  if (op.queryParams.length === 0) return null;
  const bad = fc.constantFrom(...op.queryParams).chain((parameter) => {
    const valid = validQueryValue(parameter.name, ctx) ?? fc.constant("x");
    const encode = (value: string) => `${encodeLoose(parameter.name)}=${encodeLoose(value)}`;
    const refused = [...badQueryValues(parameter.name, ctx.other.name), ...schemaBadStrings(parameter)].map((item) => ({ ...item, value: encode(item.value) }));
    const hostile = HOSTILE_STRINGS.map((item): Bad<string> => ({ value: encode(item.value), description: `hostile string (${item.label})`, expect: "either" }));
    const odd = valid.chain((value) => fc.constantFrom(...rawQueryOddities(parameter.name, value)));
    return fc
      .oneof(...(refused.length > 0 ? [{ arbitrary: fc.constantFrom(...refused), weight: 3 }] : []), { arbitrary: fc.constantFrom(...hostile), weight: 1 }, { arbitrary: odd, weight: 1 })
      .map((item) => ({ ...item, description: `query ${parameter.name}: ${item.description}` }));
  });
  return {
    weight: 3,
    arbitrary: fc.tuple(parts, body, bad).map(([p, value, q]) => assemble(op, { ...p, query: q.value, body: value }, "mutated", q.description, q.expect)),
  };
}

/** One path parameter: garbage, another client's job id, the fuzzed client's key id under another name. */
function path({ op, ctx, parts, body }: Base): Axis | null {
  if (op.pathParams.length === 0) return null;
  type PathValue = Bad<string> & { foreign: boolean; parameter: string };
  const choice = fc.constantFrom(...op.pathParams).chain((parameter) => {
    const isAdminName = parameter.name === "name" && op.path.startsWith("/admin");
    const garbage = badPathValues(parameter.name, isAdminName).map((item): PathValue => ({ ...item, foreign: false, parameter: parameter.name }));
    const options: fc.Arbitrary<PathValue>[] = [fc.constantFrom(...garbage)];
    if (parameter.name === "id") {
      const foreign = () => ctx.foreignJobs.map((job): PathValue => ({ value: job.id, description: `another client's job (${job.state})`, expect: "refused", foreign: true, parameter: "id" }));
      options.push(fromPool(foreign, garbage[0]!));
    }
    if (parameter.name === "key_id") {
      options.push(fc.constant<PathValue>({ value: ctx.main.keyId, description: "the fuzzed client's key id under another name", expect: "refused", foreign: false, parameter: "key_id" }));
    }
    return fc.oneof(...options);
  });
  return {
    weight: 3,
    arbitrary: fc.tuple(parts, body, choice).map(([p, value, item]) => {
      const request = assemble(op, { ...p, path: { ...p.path, [item.parameter]: item.value }, body: value }, "mutated", `path ${item.parameter}: ${item.description}`, item.expect);
      if (item.foreign) request.foreignId = true;
      return request;
    }),
  };
}

/** README: 1–255 visible ASCII characters; the same key with another body answers 409. */
function idempotencyKey({ op, ctx, parts, body }: Base): Axis | null {
  if (!op.headerParams.some((parameter) => parameter.name === "idempotency-key")) return null;
  const badKey = fc.constantFrom(...BAD_IDEMPOTENCY_KEYS).map((item) => ({ key: item.value, description: `Idempotency-Key ${item.description}` }));
  const reused = fromPool(() => ctx.idempotency, undefined).map((used) =>
    used ? { key: used.key, description: "Idempotency-Key reused with another body" } : { key: "", description: "Idempotency-Key empty" },
  );
  return {
    weight: 2,
    arbitrary: fc.tuple(parts, body, fc.oneof(badKey, reused)).map(([p, value, k]) =>
      assemble(op, { ...p, headers: { ...p.headers, "idempotency-key": k.key }, contentType: "application/json", body: value }, "mutated", k.description, "refused"),
    ),
  };
}

function method({ doc, op, parts }: Base): Axis {
  return {
    weight: 1,
    arbitrary: fc.tuple(parts, fc.constantFrom(...undeclaredMethods(doc, op.path))).map(([p, verb]) => {
      const body = verb === "GET" || verb === "OPTIONS" ? undefined : "{}";
      const request = assemble(op, { ...p, body, contentType: "application/json" }, "mutated", `method ${verb} on ${op.path}`, "refused");
      return { ...request, method: verb, operation: UNDECLARED_METHOD };
    }),
  };
}

/** Strings a parameter's own schema forbids (length, pattern, enum, integer). */
function schemaBadStrings(parameter: Parameter): Bad<string>[] {
  const schema: JsonSchema = parameter.schema;
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
