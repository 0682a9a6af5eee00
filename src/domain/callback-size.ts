import { applyTemplate, renderedBytes } from "./body-template";
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

/** The fields that are never clipped: who, what and when, so that a receiver can always tell the callback apart. */
const IDENTITY = ["job_id", "task_id", "task_name", "workflow", "event", "status", "content_id", "time", "client", "sequence", "attempt", "retrying"];

/** A callback body as it is stored and sent, and whether it had to be cut down to fit. */
export interface Bounded {
  text: string;
  truncated: boolean;
}

/**
 * The JSON text of a callback (its default fields, or `template` applied to them) within the limit, sized
 * before it is built. When it would be too large, the list fields (such as `files`) keep as many leading
 * entries as fit and `truncated: true` is added to the fields; if even that is too large, the fields keep
 * only the identity fields, the message's first 1,000 characters and `truncated: true`; a template that still
 * passes the limit gives way to the default shape. `truncated` says so (the delivery adds a header, since a
 * template need not name the field).
 */
export function boundedBody(fields: CallbackBody, template: unknown, limit = MAX_CALLBACK_BODY_BYTES): Bounded {
  const render = (all: CallbackBody) => JSON.stringify(template === undefined ? all : applyTemplate(template, all));
  if (renderedBytes(template, fields, limit) <= limit) return { text: render(fields), truncated: false };
  const lists = Object.keys(fields).filter((name) => Array.isArray(fields[name]) && !IDENTITY.includes(name));
  const clipped = (keep: number): CallbackBody => ({ ...fields, ...Object.fromEntries(lists.map((name) => [name, (fields[name] as unknown[]).slice(0, keep)])), truncated: true });
  const fits = (all: CallbackBody) => renderedBytes(template, all, limit) <= limit;
  if (lists.length > 0 && fits(clipped(0))) {
    // The largest count of entries that fits (binary search: the size grows with the count).
    let [fitting, tooMany] = [0, Math.max(...lists.map((name) => (fields[name] as unknown[]).length))];
    while (tooMany - fitting > 1) {
      const middle = Math.floor((fitting + tooMany) / 2);
      if (fits(clipped(middle))) fitting = middle;
      else tooMany = middle;
    }
    return { text: render(clipped(fitting)), truncated: true };
  }
  const minimal: CallbackBody = Object.fromEntries(IDENTITY.filter((name) => name in fields).map((name) => [name, fields[name]]));
  const message = typeof fields.message === "string" ? fields.message.slice(0, 1000).toWellFormed() : "";
  const fallback = { ...minimal, message, truncated: true };
  return { text: fits(fallback) ? render(fallback) : JSON.stringify(fallback), truncated: true };
}

/** An endpoint whose callbacks would pass the limit with what a job already holds (its custom_data). */
export interface Overflow {
  index: number;
  bytes: number;
}

/**
 * The endpoints whose body template would make this job's callbacks too large before the job even runs:
 * the template applied to the job callback's fields known at submission (`sample`, with `custom_data`, and
 * a message as long as an error text may be). Refused at submission rather than clipped later. The size
 * is worked out, not built: "over the limit" stops the count.
 */
export function templateOverflows(endpoints: readonly string[], templateFor: (endpoint: string) => unknown, sample: CallbackBody): Overflow[] {
  return endpoints.flatMap((endpoint, index) => {
    const template = templateFor(endpoint);
    if (template === undefined) return [];
    const bytes = renderedBytes(template, sample, MAX_CALLBACK_BODY_BYTES);
    return bytes > MAX_CALLBACK_BODY_BYTES ? [{ index, bytes }] : [];
  });
}
