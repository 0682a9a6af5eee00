import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";

const encoder = new TextEncoder();

/** Operator endpoints need `Authorization: Bearer <ADMIN_TOKEN>`; without a configured token they are closed. */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuthMiddleware(c, next) {
    const expected = c.env.ADMIN_TOKEN;
    const header = c.req.header("authorization") ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (!expected || !presented || !(await sameSecret(presented, expected))) {
      throw new ApiError(401, "unauthorised", "Unauthorised request.");
    }
    return next();
  };
}

/** Constant-time comparison of two secrets of any length (compares their SHA-256 digests). */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([a, b].map((text) => crypto.subtle.digest("SHA-256", encoder.encode(text))));
  return crypto.subtle.timingSafeEqual(x!, y!);
}
