import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";

export const MAX_BODY_BYTES = 256 * 1024;

/** Requests with a body must send JSON (415 otherwise) of at most 256 KiB (413 otherwise). */
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
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    const hasBody = c.req.header("content-length") !== "0" && c.req.raw.body !== null;
    if (hasBody && type !== "application/json" && !/^application\/[\w.-]+\+json$/.test(type)) {
      throw new ApiError(415, "unsupported_media_type", "Send the request body as JSON with Content-Type: application/json.");
    }
    return limit(c, next);
  };
}
