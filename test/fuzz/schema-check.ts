import { deref, propertySchema, typeAllowed, typesOf, type JsonSchema } from "./json-schema.ts";

/**
 * Whether a value fits a JSON Schema (the subset schema-arbitrary.ts generates from), for checking 2xx bodies
 * against the responses the document declares. Returns the first misfit ("tasks[0].state: expected string"),
 * or null. `format` is not checked (annotations in 2020-12).
 */
export function schemaMisfit(value: unknown, schema: JsonSchema, root: unknown, path = ""): string | null {
  const resolved = deref(schema, root);
  if (resolved === true) return null;
  if (resolved === false) return `${at(path)}: no value is allowed`;
  if ("const" in resolved && JSON.stringify(resolved.const) !== JSON.stringify(value)) return `${at(path)}: expected ${JSON.stringify(resolved.const)}`;
  if (resolved.enum && !resolved.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) return `${at(path)}: ${JSON.stringify(value)} is not one of ${JSON.stringify(resolved.enum)}`;
  const branches = resolved.anyOf ?? resolved.oneOf;
  if (branches && branches.every((branch) => schemaMisfit(value, branch, root, path) !== null)) return `${at(path)}: fits none of ${branches.length} alternatives`;
  for (const part of resolved.allOf ?? []) {
    const misfit = schemaMisfit(value, part, root, path);
    if (misfit) return misfit;
  }
  const types = typesOf(resolved);
  if (types.length > 0 && !typeAllowed(value, types)) return `${at(path)}: expected ${types.join(" | ")}, got ${JSON.stringify(value)?.slice(0, 60)}`;
  if (typeof value === "string") {
    if (resolved.minLength !== undefined && value.length < resolved.minLength) return `${at(path)}: shorter than ${resolved.minLength}`;
    if (resolved.maxLength !== undefined && value.length > resolved.maxLength) return `${at(path)}: longer than ${resolved.maxLength}`;
    if (resolved.pattern !== undefined && !new RegExp(resolved.pattern, "u").test(value)) return `${at(path)}: does not match ${resolved.pattern}`;
  }
  if (typeof value === "number") {
    if (resolved.minimum !== undefined && value < resolved.minimum) return `${at(path)}: below ${resolved.minimum}`;
    if (resolved.maximum !== undefined && value > resolved.maximum) return `${at(path)}: above ${resolved.maximum}`;
    if (resolved.exclusiveMinimum !== undefined && value <= resolved.exclusiveMinimum) return `${at(path)}: not above ${resolved.exclusiveMinimum}`;
    if (resolved.exclusiveMaximum !== undefined && value >= resolved.exclusiveMaximum) return `${at(path)}: not below ${resolved.exclusiveMaximum}`;
  }
  if (Array.isArray(value)) {
    if (resolved.minItems !== undefined && value.length < resolved.minItems) return `${at(path)}: fewer than ${resolved.minItems} items`;
    if (resolved.maxItems !== undefined && value.length > resolved.maxItems) return `${at(path)}: more than ${resolved.maxItems} items`;
    if (resolved.items !== undefined) {
      for (const [index, item] of value.entries()) {
        const misfit = schemaMisfit(item, resolved.items, root, `${path}[${index}]`);
        if (misfit) return misfit;
      }
    }
  } else if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of resolved.required ?? []) if (!(key in record)) return `${at(path)}: required ${key} missing`;
    for (const [key, item] of Object.entries(record)) {
      const property = propertySchema(resolved, key) ?? resolved.additionalProperties;
      if (property === false) return `${at(path)}: unexpected field ${key}`;
      if (property === undefined) continue;
      const misfit = schemaMisfit(item, property, root, path ? `${path}.${key}` : key);
      if (misfit) return misfit;
    }
  }
  return null;
}

function at(path: string): string {
  return path === "" ? "(body)" : path;
}
