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

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text).byteLength;

/**
 * The size in bytes of `JSON.stringify(applyTemplate(template, fields))` (or of `fields` itself when there
 * is no template), worked out without building it: a small template that repeats a large field could
 * otherwise make a string far larger than the isolate's memory. Stops counting, and answers a number over
 * `limit`, as soon as the size passes `limit`.
 */
export function renderedBytes(template: unknown, fields: Record<string, unknown>, limit: number): number {
  const whole = new Map<string, number>();
  const inline = new Map<string, number>();
  // The JSON of a field's value; the escaped text a placeholder inside a string becomes.
  const wholeBytes = (path: string) => memo(whole, path, () => bytes(JSON.stringify(lookup(fields, path) ?? null)));
  const inlineBytes = (path: string) => memo(inline, path, () => bytes(JSON.stringify(asText(lookup(fields, path)))) - 2);
  let total = 0;
  const add = (n: number) => {
    total += n;
    if (total > limit) throw SIZE_EXCEEDED;
  };
  const walk = (node: unknown, templated: boolean): void => {
    if (typeof node === "string" && templated) {
      const single = WHOLE.exec(node);
      if (single) return add(wholeBytes(single[1]!));
      add(2);
      let last = 0;
      for (const match of node.matchAll(PLACEHOLDER)) {
        add(bytes(JSON.stringify(node.slice(last, match.index))) - 2);
        add(inlineBytes(match[1]!));
        last = match.index + match[0].length;
      }
      return add(bytes(JSON.stringify(node.slice(last))) - 2);
    }
    if (Array.isArray(node)) {
      add(2 + Math.max(0, node.length - 1));
      for (const item of node) walk(item, templated);
      return;
    }
    if (node !== null && typeof node === "object") {
      const entries = Object.entries(node).filter(([, value]) => value !== undefined);
      add(2 + Math.max(0, entries.length - 1));
      for (const [key, value] of entries) {
        add(bytes(JSON.stringify(key)) + 1);
        walk(value, templated);
      }
      return;
    }
    add(bytes(JSON.stringify(node ?? null)));
  };
  try {
    walk(template === undefined ? fields : template, template !== undefined);
    return total;
  } catch (error) {
    if (error === SIZE_EXCEEDED) return total;
    throw error;
  }
}

const SIZE_EXCEEDED = Symbol("size exceeded");

function memo(cache: Map<string, number>, key: string, compute: () => number): number {
  let value = cache.get(key);
  if (value === undefined) cache.set(key, (value = compute()));
  return value;
}
