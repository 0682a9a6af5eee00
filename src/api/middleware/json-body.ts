import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";

export const MAX_BODY_BYTES = 256 * 1024;
/** How deeply arrays and objects may nest in a body: far beyond any real request, far below what recursion survives. */
export const MAX_JSON_DEPTH = 64;

/**
 * Requests with a body must send JSON (415 otherwise) of at most 256 KiB (413 otherwise), nested at most
 * MAX_JSON_DEPTH deep (400 otherwise: 256 KiB of `[` would overflow the stack of every recursive step that
 * follows, from schema validation to JSON.stringify, and answer 500).
 */
export function jsonBody(): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, "payload_too_large", "The request body is larger than 256 KiB.");
    },
  });
  return async function jsonBodyMiddleware(c, next) {
    const method = c.req.method;
    if (method !== "POST" && method !== "PUT" && method !== "PATCH") return next();
    // A worker's file upload is a stream of any type and size (worker-files.ts checks it).
    if (method === "PUT" && /^\/workers\/leases\/[^/]+\/files\//.test(c.req.path)) return next();
    const header = c.req.header("content-type");
    const type = (header ?? "").split(";")[0]!.trim().toLowerCase();
    const hasBody = c.req.header("content-length") !== "0" && c.req.raw.body !== null;
    const isJson = type === "application/json" || /^application\/[\w.-]+\+json$/.test(type);
    if (hasBody && !isJson) {
      throw new ApiError(415, "unsupported_media_type", "Send the request body as JSON with Content-Type: application/json.");
    }
    // `application/json ; charset=utf-8` (a space before ';') is a valid media type that the route
    // validators' stricter pattern refuses: they see the bare media type (JSON is UTF-8 whatever it says).
    if (isJson && header !== type) {
      const headers = new Headers(c.req.raw.headers);
      headers.set("content-type", type);
      c.req.raw = new Request(c.req.raw, { headers });
    }
    return limit(c, async () => {
      if (hasBody && nestsDeeperThan(await c.req.text(), MAX_JSON_DEPTH)) {
        const message = `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`;
        throw new ApiError(400, "validation_failed", message, [{ path: "", message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` }]);
      }
      return next();
    });
  };
}

/** Whether arrays and objects in JSON text nest deeper than `limit` (a linear scan that skips strings; no parsing). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++; // a backslash escapes the next character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b || char === 0x7b) {
      if (++depth > limit) return true;
    } else if (char === 0x5d || char === 0x7d) {
      depth--;
    }
  }
  return false;
}
