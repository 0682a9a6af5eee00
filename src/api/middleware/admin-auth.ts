import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { failedAuthentication, refuseBlockedAddress, sourceAddress } from "../auth-throttle";
import { ApiError } from "../errors";

const encoder = new TextEncoder();

/**
 * Operator endpoints need `Authorization: Bearer <ADMIN_TOKEN>`; without a configured token they are closed.
 * Wrong tokens count against the caller's address like wrong API keys (auth-throttle.ts).
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuthMiddleware(c, next) {
    const address = sourceAddress(c.req.header("cf-connecting-ip"));
    refuseBlockedAddress(address);
    const expected = c.env.ADMIN_TOKEN;
    const header = c.req.header("authorization") ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (!expected || !presented || !(await sameSecret(presented, expected))) {
      const limits = { byAddress: c.env.AUTH_FAILURES_BY_ADDRESS, byClient: c.env.AUTH_FAILURES_BY_CLIENT };
      throw await failedAuthentication(limits, address, null, new ApiError(401, "unauthorised", "Unauthorised request."));
    }
    return next();
  };
}

/** Constant-time comparison of two secrets of any length (compares their SHA-256 digests). */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([a, b].map((text) => crypto.subtle.digest("SHA-256", encoder.encode(text))));
  return crypto.subtle.timingSafeEqual(x!, y!);
}
