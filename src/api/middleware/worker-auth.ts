import type { MiddlewareHandler } from "hono";
import { activeWorkerToken } from "../../db/worker-tokens";
import { matchesAnyDigest, sha256Hex } from "../api-keys";
import type { AppEnv } from "../app-env";
import { failedAuthentication, sourceAddress } from "../auth-throttle";
import { ApiError } from "../errors";

/** `wkr_<token_id>_<secret>`: the id finds the row, the digest of the whole token must match it. */
const TOKEN = /^wkr_([0-9a-f-]{36})_[A-Za-z0-9_-]{43}$/;

/**
 * The worker API (`/workers/*`) needs `Authorization: Bearer wkr_…`, a pool token from the operator API.
 * It is read from D1 on every call (no cache), so a revoked token stops at once. Wrong tokens count against
 * the caller's address like wrong API keys (auth-throttle.ts).
 */
export function workerAuth(): MiddlewareHandler<AppEnv> {
  return async function workerAuthMiddleware(c, next) {
    const header = c.req.header("authorization") ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
    const match = TOKEN.exec(presented);
    const token = match ? await activeWorkerToken(c.env.DB, match[1]!) : null;
    if (!token || !matchesAnyDigest(await sha256Hex(presented), [token.tokenHash])) {
      const limits = { byAddress: c.env.AUTH_FAILURES_BY_ADDRESS, byClient: c.env.AUTH_FAILURES_BY_CLIENT };
      throw await failedAuthentication(limits, sourceAddress(c.req.header("cf-connecting-ip")), null, new ApiError(401, "unauthorised", "Unauthorised request: send a pool token (Authorization: Bearer wkr_…)."));
    }
    c.set("workerToken", { tokenId: token.tokenId, pool: token.pool, client: token.client });
    return next();
  };
}
