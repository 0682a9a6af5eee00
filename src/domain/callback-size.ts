import type { CallbackBody } from "./callback-body";

/**
 * Callback bodies are bounded (P5 item 9, README "Callbacks"): at most MAX_CALLBACK_BODY_BYTES of JSON.
 * A body template that repeats a large field is refused when the client configures it or when a job would
 * make it too large; what only a job's result can inflate (a `files` list of a huge folder) is clipped,
 * openly: the body says `truncated: true` and the job object keeps the whole result.
 */

/** The largest callback body the engine sends, in bytes of UTF-8. */
export const MAX_CALLBACK_BODY_BYTES = 1024 * 1024;
/** The largest body template an operator may configure, in bytes of its JSON. */
export const MAX_TEMPLATE_BYTES = 16 * 1024;

const encoder = new TextEncoder();

export function utf8Bytes(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Renders a callback body from its fields (the default body, or a template applied to them). */
export type Render = (fields: CallbackBody) => unknown;

/** The fields that are never clipped: who, what and when, so that a receiver can always tell the callback apart. */
const IDENTITY = ["job_id", "task_id", "task_name", "workflow", "event", "status", "content_id", "time", "client", "sequence", "attempt", "retrying"];

/**
 * The JSON text of a callback within the limit. When the whole body is too large, the list fields (such as
 * `files`) keep as many leading entries as fit and `truncated: true` is added; if even that is too large,
 * the body keeps only the identity fields, the message's first 1,000 characters and `truncated: true`.
 */
export function boundedBody(fields: CallbackBody, render: Render, limit = MAX_CALLBACK_BODY_BYTES): string {
  const whole = JSON.stringify(render(fields));
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most bodies need no count.
  if (whole.length * 3 <= limit || utf8Bytes(whole) <= limit) return whole;
  const lists = Object.keys(fields).filter((name) => Array.isArray(fields[name]) && !IDENTITY.includes(name));
  const withLists = (keep: number) => JSON.stringify(render({ ...fields, ...Object.fromEntries(lists.map((name) => [name, (fields[name] as unknown[]).slice(0, keep)])), truncated: true }));
  const longest = Math.max(0, ...lists.map((name) => (fields[name] as unknown[]).length));
  if (lists.length > 0 && utf8Bytes(withLists(0)) <= limit) {
    // The largest count of entries that fits (binary search: the size grows with the count).
    let [fits, tooMany] = [0, longest];
    while (tooMany - fits > 1) {
      const middle = Math.floor((fits + tooMany) / 2);
      if (utf8Bytes(withLists(middle)) <= limit) fits = middle;
      else tooMany = middle;
    }
    return withLists(fits);
  }
  const minimal: CallbackBody = Object.fromEntries(IDENTITY.filter((name) => name in fields).map((name) => [name, fields[name]]));
  const message = typeof fields.message === "string" ? fields.message.slice(0, 1000).toWellFormed() : "";
  const fallback = JSON.stringify(render({ ...minimal, message, truncated: true }));
  // A template that inflates even this (only possible if it changed since it was checked) gets the default shape.
  return utf8Bytes(fallback) <= limit ? fallback : JSON.stringify({ ...minimal, message, truncated: true });
}

/** An endpoint whose callbacks would pass the limit with what a job already holds (its custom_data). */
export interface Overflow {
  index: number;
  bytes: number;
}

/**
 * The endpoints whose body template would make this job's callbacks too large before the job even runs:
 * the template applied to the job callback's fields known at submission (`sample`, with `custom_data`),
 * the largest of the job's bodies known then. Refused at submission rather than clipped later.
 */
export function templateOverflows(endpoints: readonly string[], templateFor: (endpoint: string) => unknown, sample: CallbackBody, render: (template: unknown, fields: CallbackBody) => unknown): Overflow[] {
  return endpoints.flatMap((endpoint, index) => {
    const template = templateFor(endpoint);
    if (template === undefined) return [];
    const bytes = utf8Bytes(JSON.stringify(render(template, sample)));
    return bytes > MAX_CALLBACK_BODY_BYTES ? [{ index, bytes }] : [];
  });
}
