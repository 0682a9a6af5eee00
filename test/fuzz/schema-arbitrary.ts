import fc from "fast-check";
import { deref, isFreeForm, typesOf, type JsonSchema, type JsonType, type SchemaObject } from "./json-schema.ts";

/**
 * JSON Schema → fast-check arbitrary of values the schema accepts. Covers what the engine's documents use:
 * local `$ref`s (also recursive ones), type (also lists with "null"), enum, const, anyOf / oneOf, allOf of
 * objects, properties with required / optional keys, additionalProperties, propertyNames, items,
 * min/maxItems, min/maxLength, pattern, format (uri, date-time, email, uuid), minimum / maximum and their
 * exclusive forms. Values nest at most `maxDepth` arrays / objects deep, which also ends recursive `$ref`s.
 */

/** Where a schema sits in the value: property names, "*" for array items and additional properties. */
export type SchemaPath = readonly string[];

export interface ArbitraryOptions {
  /** What `$ref`s point into (the OpenAPI document, or a standalone schema with `$defs`). */
  root: unknown;
  /** Replaces the arbitrary of a schema (by its path in the value), e.g. URLs that must reach a local server. */
  override?: (path: SchemaPath, schema: SchemaObject) => fc.Arbitrary<unknown> | undefined;
  /** How deep arrays and objects nest (default 3): beyond it arrays are as short and objects as small as allowed. */
  maxDepth?: number;
  /** Schema problems met on the way (a pattern none of its generated strings matches, …), for the report. */
  problems?: string[];
  /** Where the schema sits, prefixed to the paths in problems (e.g. the operation and parameter). */
  path?: SchemaPath;
}

export function arbitraryFor(schema: JsonSchema, options: ArbitraryOptions): fc.Arbitrary<unknown> {
  const maxDepth = options.maxDepth ?? 3;
  const problems = options.problems ?? [];

  function build(input: JsonSchema, path: SchemaPath, depth: number): fc.Arbitrary<unknown> {
    const schema = deref(input, options.root);
    if (schema === false) throw new Error(`schema at ${where(path)} accepts nothing`);
    if (schema === true || isFreeForm(schema)) return options.override?.(path, {}) ?? anyJson(maxDepth - depth);
    const overridden = options.override?.(path, schema);
    if (overridden) return overridden;
    if ("const" in schema) return fc.constant(schema.const);
    if (schema.enum) return fc.constantFrom(...schema.enum);
    if (schema.anyOf || schema.oneOf) {
      // oneOf is generated as anyOf: the documents' oneOf branches are told apart by an enum field (`driver`).
      const branches = (schema.anyOf ?? schema.oneOf ?? []).map((branch) => build(branch, path, depth));
      return fc.oneof(...branches);
    }
    if (schema.allOf) return build(mergeAllOf(schema, options.root), path, depth);
    const types = typesOf(schema);
    if (types.length === 0) return anyJson(maxDepth - depth);
    if (types.length > 1) return fc.oneof(...types.map((type) => ofType(type, schema, path, depth)));
    return ofType(types[0]!, schema, path, depth);
  }

  function ofType(type: JsonType, schema: SchemaObject, path: SchemaPath, depth: number): fc.Arbitrary<unknown> {
    switch (type) {
      case "null":
        return fc.constant(null);
      case "boolean":
        return fc.boolean();
      case "integer":
        return integerIn(schema);
      case "number":
        return numberIn(schema);
      case "string":
        return stringFor(schema, path);
      case "array":
        return arrayFor(schema, path, depth);
      case "object":
        return objectFor(schema, path, depth);
    }
  }

  function stringFor(schema: SchemaObject, path: SchemaPath): fc.Arbitrary<string> {
    const minLength = schema.minLength ?? 0;
    const maxLength = schema.maxLength ?? Number.MAX_SAFE_INTEGER;
    const fits = (text: string) => text.length >= minLength && text.length <= maxLength;
    if (schema.pattern !== undefined) return patternArbitrary(schema.pattern, path).filter(fits);
    const format = formatArbitrary(schema.format);
    if (format) return format.filter(fits);
    const limit = Math.min(maxLength, minLength + 24);
    // Mostly ASCII, sometimes any Unicode: lengths are UTF-16 code units, as the engine's zod counts them.
    return fc.oneof(
      { arbitrary: fc.string({ minLength, maxLength: limit, unit: "grapheme-ascii" }), weight: 4 },
      { arbitrary: fc.string({ minLength, maxLength: limit, unit: "grapheme" }).filter(fits), weight: 1 },
    );
  }

  function patternArbitrary(pattern: string, path: SchemaPath): fc.Arbitrary<string> {
    let regex: RegExp;
    try {
      regex = new RegExp(pattern, "u");
    } catch {
      problems.push(`${where(path)}: pattern ${JSON.stringify(pattern)} is not an ECMA-262 (u) regular expression`);
      return fc.string();
    }
    const candidates = fc.stringMatching(regex);
    // fast-check reads a pattern leniently (`$` followed by more text, say): check its strings really match.
    const matching = matchingSamples.get(pattern) ?? fc.sample(candidates, { numRuns: 20, seed: 7 }).filter((text) => regex.test(text)).length;
    matchingSamples.set(pattern, matching);
    if (matching < 10) {
      problems.push(`${where(path)}: pattern ${JSON.stringify(pattern)} matched ${matching} of 20 strings generated for it (can any string match it?)`);
      return candidates;
    }
    return candidates.filter((text) => regex.test(text));
  }

  function arrayFor(schema: SchemaObject, path: SchemaPath, depth: number): fc.Arbitrary<unknown[]> {
    const minLength = schema.minItems ?? 0;
    const maxLength = depth >= maxDepth ? minLength : Math.min(schema.maxItems ?? minLength + 3, minLength + 3);
    if (maxLength === 0) return fc.constant([]);
    return fc.array(build(schema.items ?? true, [...path, "*"], depth + 1), { minLength, maxLength });
  }

  function objectFor(schema: SchemaObject, path: SchemaPath, depth: number): fc.Arbitrary<Record<string, unknown>> {
    const properties = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    // At the depth limit only the required keys are generated.
    const keys = Object.keys(properties).filter((key) => depth < maxDepth || required.has(key));
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const key of keys) model[key] = build(properties[key]!, [...path, key], depth + 1);
    for (const key of required) model[key] ??= anyJson(maxDepth - depth - 1);
    const record = fc.record(model, { requiredKeys: [...required] });
    const additional = schema.additionalProperties;
    // Extra keys only where the schema asks for them explicitly (absent: extras are allowed but never needed).
    if (additional === undefined || additional === false || depth >= maxDepth) return record;
    const declared = new Set(Object.keys(properties));
    const names = schema.propertyNames ? (build(schema.propertyNames, [...path, "*"], depth + 1) as fc.Arbitrary<string>) : fc.string({ minLength: 1, maxLength: 12 });
    const extras = fc.dictionary(
      names.filter((name) => typeof name === "string" && !declared.has(name) && name !== "__proto__"),
      build(additional, [...path, "*"], depth + 1),
      { maxKeys: 2 },
    );
    return fc.tuple(record, extras).map(([fixed, extra]) => ({ ...extra, ...fixed }));
  }

  return build(schema, options.path ?? [], 0);
}

/** How many of 20 strings fast-check generates for a pattern match it (sampled once per pattern). */
const matchingSamples = new Map<string, number>();

/** Any JSON value, nesting at most `depth` deep. */
export function anyJson(depth: number): fc.Arbitrary<unknown> {
  return fc.jsonValue({ maxDepth: Math.max(0, depth) });
}

function integerIn(schema: SchemaObject): fc.Arbitrary<number> {
  const { min, max } = integerRange(schema);
  if (min > max) throw new Error(`no integer between ${schema.minimum ?? schema.exclusiveMinimum} and ${schema.maximum ?? schema.exclusiveMaximum}`);
  return fc.integer({ min, max });
}

function integerRange(schema: SchemaObject): { min: number; max: number } {
  const min = schema.exclusiveMinimum !== undefined ? Math.floor(schema.exclusiveMinimum) + 1 : schema.minimum !== undefined ? Math.ceil(schema.minimum) : -1_000_000;
  const max = schema.exclusiveMaximum !== undefined ? Math.ceil(schema.exclusiveMaximum) - 1 : schema.maximum !== undefined ? Math.floor(schema.maximum) : 1_000_000;
  return { min, max };
}

function numberIn(schema: SchemaObject): fc.Arbitrary<number> {
  const min = schema.exclusiveMinimum ?? schema.minimum ?? -1e9;
  const max = schema.exclusiveMaximum ?? schema.maximum ?? 1e9;
  const double = fc.double({
    min,
    max,
    minExcluded: schema.exclusiveMinimum !== undefined,
    maxExcluded: schema.exclusiveMaximum !== undefined,
    noNaN: true,
    noDefaultInfinity: true,
  });
  const doubles = double.map((value) => (Object.is(value, -0) ? 0 : value));
  const { min: lowest, max: highest } = integerRange(schema);
  // Whole numbers too, where the range has any (JSON has one number type; "number" allows integers).
  return lowest <= highest ? fc.oneof(integerIn(schema), doubles) : doubles;
}

function formatArbitrary(format: string | undefined): fc.Arbitrary<string> | undefined {
  switch (format) {
    case "uri":
    case "url":
      return fc.webUrl({ validSchemes: ["https", "http"] });
    case "date-time":
      return fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T23:59:59Z"), noInvalidDate: true }).map((date) => date.toISOString());
    case "email":
      return fc.emailAddress();
    case "uuid":
      return fc.uuid();
    default:
      return undefined;
  }
}

/** allOf of object schemas as one object schema (properties and required keys of all of them). */
function mergeAllOf(schema: SchemaObject, root: unknown): SchemaObject {
  const { allOf = [], ...rest } = schema;
  const merged: SchemaObject = { ...rest, properties: { ...rest.properties }, required: [...(rest.required ?? [])] };
  for (const part of allOf) {
    const resolved = deref(part, root);
    if (typeof resolved !== "object") continue;
    Object.assign(merged.properties!, resolved.properties);
    merged.required!.push(...(resolved.required ?? []));
    merged.type ??= resolved.type;
    if (resolved.additionalProperties !== undefined) merged.additionalProperties = resolved.additionalProperties;
  }
  return merged;
}

function where(path: SchemaPath): string {
  return path.length === 0 ? "(root)" : path.join(".");
}
