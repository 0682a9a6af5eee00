/**
 * Callback body templates: a JSON value in which strings holding `{{field}}` placeholders are filled from
 * the default callback body. Dotted paths reach into nested values (`{{custom_data.ref}}`). A string that is
 * exactly one placeholder takes the field's JSON value (number, object, …); placeholders inside a longer
 * string are replaced by the field's text. A missing field is `null` (whole string) or empty (inside text).
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}$/;

export function applyTemplate(template: unknown, fields: Record<string, unknown>): unknown {
  if (typeof template === "string") {
    const whole = WHOLE.exec(template);
    if (whole) return lookup(fields, whole[1]!) ?? null;
    return template.replace(PLACEHOLDER, (_, path: string) => asText(lookup(fields, path)));
  }
  if (Array.isArray(template)) return template.map((item) => applyTemplate(item, fields));
  if (template !== null && typeof template === "object") {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, applyTemplate(value, fields)]));
  }
  return template;
}

function lookup(fields: Record<string, unknown>, path: string): unknown {
  let current: unknown = fields;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
