import type { MiddlewareHandler } from "hono";
import { sha256Hex } from "../api-keys";
import type { AppEnv } from "../app-env";
import { blockedAddressUntil, recentlyVerified, sourceAddress, tooManyFailures } from "../auth-throttle";
import { isAdminToken } from "./admin-auth";
import { isPublicPath } from "./auth";

/**
 * First of all, before a body is read or D1 asked: an address blocked for failed authentications
 * (auth-throttle.ts) gets `429`, unless its request carries credentials that are known good without a D1
 * read (the admin token, or a client key this isolate verified within the window).
 */
export function blockedAddresses(): MiddlewareHandler<AppEnv> {
  return async function blockedAddressesMiddleware(c, next) {
    const until = blockedAddressUntil(sourceAddress(c.req.header("cf-connecting-ip")));
    if (until === null || isPublicPath(c.req.path)) return next();
    if (c.req.path.startsWith("/admin")) {
      if (await isAdminToken(c.env.ADMIN_TOKEN, c.req.header("authorization"))) return next();
    } else {
      const client = c.req.header("client")?.trim();
      const key = c.req.header("api-key") ?? c.req.header("x-api-key");
      if (client && key && key.length <= 256 && recentlyVerified(client, await sha256Hex(key))) return next();
    }
    throw tooManyFailures((until - Date.now()) / 1000);
  };
}
