/**
 * The JSON Schema subset the fuzzer reads (what /openapi.json and GET /workflows/{name} serve: OpenAPI 3.1
 * component schemas and zod's draft 2020-12 output), and local `$ref` resolution.
 */

export type JsonType = "string" | "number" | "integer" | "boolean" | "null" | "array" | "object";

export interface SchemaObject {
  $ref?: string;
  type?: JsonType | JsonType[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  /** OpenAPI 3.0 spelling of `type: [..., "null"]`; read for robustness. */
  nullable?: boolean;
  [keyword: string]: unknown;
}

export type JsonSchema = SchemaObject | boolean;

/** The value a local JSON pointer (`#/components/schemas/Job`, `#/$defs/x`) names in `root`. */
export function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#")) throw new Error(`only local $refs are supported: ${ref}`);
  const parts = ref.slice(1).split("/").slice(1).map((part) => decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~"));
  let node: unknown = root;
  for (const part of parts) {
    if (typeof node !== "object" || node === null || !(part in node)) throw new Error(`$ref ${ref} does not resolve`);
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Follows `$ref`s (also chains of them) until a schema that is not a bare reference. */
export function deref(schema: JsonSchema, root: unknown): JsonSchema {
  let current = schema;
  for (let hops = 0; typeof current === "object" && typeof current.$ref === "string"; hops++) {
    if (hops > 32) throw new Error(`$ref cycle at ${current.$ref}`);
    current = resolvePointer(root, current.$ref) as JsonSchema;
  }
  return current;
}

/** The JSON types a schema allows (all of them when it does not say). */
export function typesOf(schema: SchemaObject): JsonType[] {
  const declared = schema.type === undefined ? [] : Array.isArray(schema.type) ? [...schema.type] : [schema.type];
  if (schema.nullable === true && !declared.includes("null")) declared.push("null");
  if (declared.length > 0) return declared;
  if (schema.properties || schema.additionalProperties !== undefined || schema.required) return ["object"];
  if (schema.items) return ["array"];
  return [];
}

/** The JSON type of a value, as JSON Schema names it (integers are "integer"). */
export function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  return "object";
}

/** Whether a value's type is among the allowed ones ("number" allows integers). */
export function typeAllowed(value: unknown, allowed: readonly JsonType[]): boolean {
  if (allowed.length === 0) return true;
  const type = jsonTypeOf(value);
  return allowed.includes(type) || (type === "integer" && allowed.includes("number"));
}

/** A schema that constrains nothing (`{}`, `true`, or only annotations). */
export function isFreeForm(schema: JsonSchema): boolean {
  if (schema === true) return true;
  if (schema === false) return false;
  const constraining = ["$ref", "type", "enum", "const", "anyOf", "oneOf", "allOf", "properties", "required", "additionalProperties", "items", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "format", "not"];
  return !constraining.some((keyword) => keyword in schema);
}

/** The schema of a declared property: own keys only (`properties["__proto__"]` would be Object.prototype). */
export function propertySchema(schema: SchemaObject, key: string): JsonSchema | undefined {
  return schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
}
