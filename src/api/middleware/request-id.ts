import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";

/** Gives every request an id, returned in `x-request-id` and carried by its log lines. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const id = crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.res.headers.set("x-request-id", id);
  };
}
