import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { failedAuthentication, sourceAddress } from "../auth-throttle";
import { ApiError } from "../errors";

const encoder = new TextEncoder();

/**
 * Operator endpoints need `Authorization: Bearer <ADMIN_TOKEN>`; without a configured token they are closed.
 * Wrong tokens count against the caller's address like wrong API keys (auth-throttle.ts).
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuthMiddleware(c, next) {
    if (!(await isAdminToken(c.env.ADMIN_TOKEN, c.req.header("authorization")))) {
      const limits = { byAddress: c.env.AUTH_FAILURES_BY_ADDRESS, byClient: c.env.AUTH_FAILURES_BY_CLIENT };
      const address = sourceAddress(c.req.header("cf-connecting-ip"));
      throw await failedAuthentication(limits, address, null, new ApiError(401, "unauthorised", "Unauthorised request."));
    }
    return next();
  };
}

/** Whether an `Authorization` header carries the configured admin token (none configured: never). */
export async function isAdminToken(expected: string | undefined, header: string | undefined): Promise<boolean> {
  const presented = header?.startsWith("Bearer ") ? header.slice(7) : "";
  return Boolean(expected) && presented !== "" && (await sameSecret(presented, expected!));
}

/** Constant-time comparison of two secrets of any length (compares their SHA-256 digests). */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([a, b].map((text) => crypto.subtle.digest("SHA-256", encoder.encode(text))));
  return crypto.subtle.timingSafeEqual(x!, y!);
}
