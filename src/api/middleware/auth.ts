import type { MiddlewareHandler } from "hono";
import { resolveSettings } from "../../domain/settings";
import { matchesAnyDigest, sha256Hex } from "../api-keys";
import type { AppEnv } from "../app-env";
import { clientRecord } from "../client-cache";
import { failedAuthentication, rememberVerified, sourceAddress } from "../auth-throttle";
import { ApiError } from "../errors";
import { drawRequest } from "../request-budget";

// /favicon.ico: browsers ask for it on every visit to a page; without credentials it must not count as a
// failed sign-in (20 of those a minute block the address). It is answered 404.
const PUBLIC_PATHS = new Set(["/", "/openapi.json", "/docs", "/ui", "/favicon.ico"]);

/** Paths that need no credentials. */
export function isPublicPath(path: string): boolean {
  // The pages' own files (/docs/*, /ui/*) are public like the pages: their data needs the client's credentials.
  return PUBLIC_PATHS.has(path) || path.startsWith("/docs/") || path.startsWith("/ui/");
}

/**
 * Resolves the client from the `client` and `api-key` headers (401 when either is missing or wrong; 429
 * once an address or a client name has failed too often, see auth-throttle.ts; blocked addresses were
 * turned away before, by blocked-addresses.ts), then draws one request from the client's token bucket (429
 * with Retry-After when it is empty), through this isolate's lease of it (request-budget.ts). The client's
 * keys and settings come from this isolate's memory when read in the last 10 s (client-cache.ts).
 */
export function clientAuth(): MiddlewareHandler<AppEnv> {
  return async function clientAuthMiddleware(c, next) {
    // The operator API and the worker API have their own credentials (admin-auth.ts, worker-auth.ts).
    if (isPublicPath(c.req.path) || c.req.path.startsWith("/admin") || c.req.path.startsWith("/workers/")) return next();
    const address = sourceAddress(c.req.header("cf-connecting-ip"));
    const client = c.req.header("client")?.trim();
    const key = c.req.header("api-key") ?? c.req.header("x-api-key");
    const limits = { byAddress: c.env.AUTH_FAILURES_BY_ADDRESS, byClient: c.env.AUTH_FAILURES_BY_CLIENT };
    if (!client || !key || client.length > 128 || key.length > 256) throw await failedAuthentication(limits, address, client || null, unauthorised());
    const digest = await sha256Hex(key);
    const asked = Date.now();
    let record = await clientRecord(c.env.DB, client, { now: asked });
    // A key unknown to a record from memory may be new: D1 is asked before the request is refused.
    if (!matchesAnyDigest(digest, record.keyDigests) && record.readAt < asked) record = await clientRecord(c.env.DB, client, { fresh: true });
    if (!matchesAnyDigest(digest, record.keyDigests)) throw await failedAuthentication(limits, address, client, unauthorised());
    rememberVerified(client, digest);
    c.set("client", client);
    c.set("clientRecord", record);
    const settings = resolveSettings(record.settings);
    const limiter = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(client));
    const budget = await drawRequest(client, { rate: settings.rate_limit, burst: settings.rate_burst }, (want) => limiter.take(settings.rate_limit, settings.rate_burst, want));
    c.get("cost").doRequests += budget.asked;
    if (!budget.ok) {
      const seconds = String(Math.max(1, Math.ceil(budget.retryAfterMs / 1000)));
      throw new ApiError(429, "rate_limited", `Too many requests; try again in ${seconds} s.`, undefined, { "Retry-After": seconds });
    }
    return next();
  };
}

function unauthorised(): ApiError {
  return new ApiError(401, "unauthorised", "Unauthorised request.");
}
