import fc from "fast-check";
import { fromPool, type FuzzContext } from "./fuzz-context.ts";
import type { FuzzRequest } from "./fuzz-request.ts";
import { deref, type SchemaObject } from "./json-schema.ts";
import { mutatedRequest } from "./mutation-axes.ts";
import type { OpenApiDocument, Operation } from "./openapi-operations.ts";
import { JSON_MEDIA_TYPE_VARIANTS } from "./raw-bodies.ts";
import { assemble, sourceAddress, type BodyVariant, type Parts } from "./request-parts.ts";
import { arbitraryFor } from "./schema-arbitrary.ts";
import { encodeLoose } from "./url-encoding.ts";
import { validPathValues, validQueryValue, valueOverrides } from "./valid-values.ts";

/**
 * Per operation of the document, two arbitraries of wire requests: `valid` (everything from the schemas, with
 * valid-values.ts for what they cannot say) and `mutated` (a valid request with one thing broken,
 * mutation-axes.ts).
 */

export interface OperationArbitraries {
  op: Operation;
  valid: fc.Arbitrary<FuzzRequest>;
  mutated: fc.Arbitrary<FuzzRequest>;
}

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
