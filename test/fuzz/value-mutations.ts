import fc from "fast-check";
import { HOSTILE_STRINGS } from "./hostile-strings.ts";
import { deref, isFreeForm, jsonTypeOf, propertySchema, typeAllowed, typesOf, type JsonSchema, type JsonType, type SchemaObject } from "./json-schema.ts";

/**
 * Invalid variants of a valid JSON value, read off its schema: a wrong JSON type, a missing required field,
 * an unknown field on a strict object, a number out of range, a string too long / too short / off its
 * pattern / off its enum, an array with too many or too few items, nesting beyond the API's cap; and hostile
 * strings (hostile-strings.ts) in every string the schema lets through.
 */

/** "refused": the document (or the API's documented caps) forbids the value; "either": it may be valid. */
export type Expectation = "refused" | "either";

export interface Mutation {
  value: unknown;
  description: string;
  expect: Expectation;
}

export type ValuePath = readonly (string | number)[];

/** A place in a value, with the schema that governs it. */
export interface Site {
  path: ValuePath;
  schema: SchemaObject;
  value: unknown;
}

/** The API refuses bodies nested deeper than this (README: "nested at most 64 deep"). */
export const MAX_BODY_DEPTH = 64;

/** Every place of `value` that its schema says something about (free-form places included, for hostile strings). */
export function mutationSites(schema: JsonSchema, value: unknown, root: unknown, path: ValuePath = []): Site[] {
  const resolved = deref(schema, root);
  const site: SchemaObject = resolved === true ? {} : resolved === false ? { not: {} } : resolved;
  const sites: Site[] = [{ path, schema: site, value }];
  const branch = matchingBranch(site, value, root);
  if (Array.isArray(value) && branch.items !== undefined) {
    value.slice(0, 3).forEach((item, index) => sites.push(...mutationSites(branch.items!, item, root, [...path, index])));
  } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) {
      const childSchema = propertySchema(branch, key) ?? (typeof branch.additionalProperties === "object" ? branch.additionalProperties : undefined);
      if (childSchema !== undefined) sites.push(...mutationSites(childSchema, child, root, [...path, key]));
    }
  }
  return sites;
}

/** The JSON types a schema allows, or "any". */
export function allowedTypes(schema: JsonSchema, root: unknown): JsonType[] | "any" {
  const resolved = deref(schema, root);
  if (resolved === true || (resolved !== false && isFreeForm(resolved))) return "any";
  if (resolved === false) return [];
  if ("const" in resolved) return [jsonTypeOf(resolved.const)];
  if (resolved.enum) return [...new Set(resolved.enum.map(jsonTypeOf))];
  const branches = resolved.anyOf ?? resolved.oneOf;
  if (branches) {
    const types = new Set<JsonType>();
    for (const branch of branches) {
      const allowed = allowedTypes(branch, root);
      if (allowed === "any") return "any";
      allowed.forEach((type) => types.add(type));
    }
    return [...types];
  }
  const types = typesOf(resolved);
  return types.length === 0 ? "any" : types;
}

/** The mutations of one site, schema-breaking ones first. */
export function siteMutations(whole: unknown, site: Site, root: unknown): Mutation[] {
  const { schema, value, path } = site;
  const at = describePath(path);
  const mutations: Mutation[] = [];
  const refused = (replacement: unknown, what: string) => mutations.push({ value: replaceAt(whole, path, replacement), description: `${at}: ${what}`, expect: "refused" });
  const either = (replacement: unknown, what: string) => mutations.push({ value: replaceAt(whole, path, replacement), description: `${at}: ${what}`, expect: "either" });

  const allowed = allowedTypes(schema, root);
  if (allowed !== "any") {
    for (const [type, sample] of Object.entries(TYPE_SAMPLES) as [JsonType, unknown][]) {
      if (!typeAllowed(sample, allowed)) refused(sample, `wrong type ${type} (${allowed.join(" | ")} expected)`);
    }
    if (allowed.includes("integer") && !allowed.includes("string")) refused("7", "integer as a numeric string");
    if (allowed.includes("boolean") && !allowed.includes("string")) refused("true", "boolean as a string");
  }
  if (schema.enum && typeof value === "string") refused(`${value}-not-in-enum`, "not one of the enum");
  if (typeof value === "number") {
    if (schema.minimum !== undefined) refused(schema.minimum - 1, `below minimum ${schema.minimum}`);
    if (schema.maximum !== undefined) refused(schema.maximum + 1, `above maximum ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined) refused(schema.exclusiveMinimum, "at the exclusive minimum");
    if (schema.exclusiveMaximum !== undefined) refused(schema.exclusiveMaximum, "at the exclusive maximum");
    if (allowed !== "any" && allowed.includes("integer") && !allowed.includes("number")) refused(value + 0.5, "not an integer");
    if (schema.maximum !== undefined) refused(1e300, "huge number");
  }
  if (typeof value === "string") {
    if (schema.maxLength !== undefined) refused("a".repeat(schema.maxLength + 1), `longer than maxLength ${schema.maxLength}`);
    if (schema.minLength !== undefined && schema.minLength > 0) refused("a".repeat(schema.minLength - 1), `shorter than minLength ${schema.minLength}`);
    if (schema.pattern !== undefined) {
      const regex = new RegExp(schema.pattern, "u");
      const off = ["", " ", "!", "zz top", `${value}\n`, "\u202E"].find((candidate) => !regex.test(candidate));
      if (off !== undefined) refused(off, `off pattern ${schema.pattern}`);
    }
    if (schema.format === "uri" || schema.format === "url") {
      refused("not a url", "not a URI");
      refused("//cms.example/x", "relative URI");
    }
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined) refused(Array.from({ length: schema.maxItems + 1 }, (_, i) => value[i % Math.max(1, value.length)] ?? "x"), `more than maxItems ${schema.maxItems}`);
    if (schema.minItems !== undefined && schema.minItems > 0) refused(value.slice(0, schema.minItems - 1), `fewer than minItems ${schema.minItems}`);
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const branch = matchingBranch(schema, value, root);
    for (const key of branch.required ?? []) {
      if (key in value) mutations.push({ value: removeAt(whole, [...path, key]), description: `${at}: required ${key} missing`, expect: "refused" });
    }
    if (branch.additionalProperties === false) refused({ ...value, zz_unknown_field: 1 }, "unknown field on a strict object");
    either(withOwnKey(value, "__proto__", { polluted: true }), "__proto__ key");
    either({ ...value, constructor: { prototype: { polluted: true } } }, "constructor key");
  }
  if (allowed === "any" || allowed.includes("string")) {
    // Where the document says `format: uri`, a string that is no absolute URI (a space, a tab, CR/LF) breaks it.
    const uri = schema.format === "uri" || schema.format === "url";
    for (const hostile of HOSTILE_STRINGS) {
      if (uri && !ABSOLUTE_URI.test(hostile.value)) refused(hostile.value, `hostile string (${hostile.label}), not a URI`);
      else either(hostile.value, `hostile string (${hostile.label})`);
    }
  }
  // Deeper than the cap counting the site's own depth: always beyond MAX_BODY_DEPTH in the whole body.
  refused(nested(MAX_BODY_DEPTH + 1), `nested ${MAX_BODY_DEPTH + 1} arrays deep`);
  return mutations;
}

/** An arbitrary of invalid variants of the values `valid` generates: a site, then one of its mutations. */
export function mutatedValue(schema: JsonSchema, valid: fc.Arbitrary<unknown>, root: unknown): fc.Arbitrary<Mutation> {
  return valid.chain((value) => {
    const sites = mutationSites(schema, value, root);
    return fc.constantFrom(...sites).chain((site) => {
      const all = siteMutations(value, site, root);
      const breaking = all.filter((mutation) => mutation.expect === "refused");
      const odd = all.filter((mutation) => mutation.expect === "either");
      // Schema-breaking mutations three times as often as hostile values (which a site may have dozens of).
      return fc.oneof(
        ...(breaking.length > 0 ? [{ arbitrary: fc.constantFrom(...breaking), weight: 3 }] : []),
        ...(odd.length > 0 ? [{ arbitrary: fc.constantFrom(...odd), weight: 1 }] : []),
      );
    });
  });
}

/** RFC 3986 absolute URI, loosely: a scheme, a colon, then visible ASCII only. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$/;

const TYPE_SAMPLES: Record<JsonType, unknown> = {
  string: "fuzz",
  integer: 7,
  number: 7.5,
  boolean: true,
  null: null,
  array: [],
  object: {},
};

/** For anyOf / oneOf: the branch a value follows (its type fits and its enum / const fields agree). */
function matchingBranch(schema: SchemaObject, value: unknown, root: unknown): SchemaObject {
  const branches = schema.anyOf ?? schema.oneOf;
  if (!branches) return schema;
  for (const candidate of branches) {
    const branch = deref(candidate, root);
    if (typeof branch !== "object") continue;
    const allowed = allowedTypes(branch, root);
    if (allowed !== "any" && !typeAllowed(value, allowed)) continue;
    if (typeof value === "object" && value !== null && !Array.isArray(value) && !discriminatorsAgree(branch, value as Record<string, unknown>, root)) continue;
    return matchingBranch(branch, value, root);
  }
  return schema;
}

function discriminatorsAgree(branch: SchemaObject, value: Record<string, unknown>, root: unknown): boolean {
  return Object.entries(branch.properties ?? {}).every(([key, property]) => {
    const resolved = deref(property, root);
    if (typeof resolved !== "object" || !(key in value)) return true;
    if (resolved.enum) return resolved.enum.includes(value[key]);
    if ("const" in resolved) return resolved.const === value[key];
    return true;
  });
}

/** `depth` arrays nested in each other. */
export function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** A copy of `whole` with the value at `path` replaced. */
export function replaceAt(whole: unknown, path: ValuePath, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(whole)) return whole.map((item, index) => (index === head ? replaceAt(item, rest, replacement) : item));
  const record = whole as Record<string, unknown>;
  return withOwnKey(record, String(head), replaceAt(record[String(head)], rest, replacement));
}

/** A copy of `whole` without the key at `path`. */
export function removeAt(whole: unknown, path: ValuePath): unknown {
  const parent = path.slice(0, -1);
  const key = String(path[path.length - 1]);
  const container = parent.reduce<unknown>((node, part) => (node as Record<string, unknown>)[String(part)], whole) as Record<string, unknown>;
  const { [key]: _removed, ...rest } = container;
  return replaceAt(whole, parent, rest);
}

/** A copy of an object with one more own key (also `__proto__`, which `{...}` and `o[k] =` would not make own). */
function withOwnKey(record: object, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(record)) Object.defineProperty(copy, name, { value: item, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

export function describePath(path: ValuePath): string {
  if (path.length === 0) return "(root)";
  return path.reduce<string>((text, part) => (typeof part === "number" ? `${text}[${part}]` : text ? `${text}.${part}` : part), "");
}
