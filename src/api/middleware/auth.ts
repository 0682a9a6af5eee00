import type { MiddlewareHandler } from "hono";
import { activeKeyHashes } from "../../db/clients";
import { matchesAnyKey } from "../api-keys";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";

const PUBLIC_PATHS = new Set(["/", "/openapi.json", "/docs"]);

/** Resolves the client from the `client` and `api-key` headers; 401 when either is missing or wrong. */
export function clientAuth(): MiddlewareHandler<AppEnv> {
  return async function clientAuthMiddleware(c, next) {
    if (PUBLIC_PATHS.has(c.req.path) || c.req.path.startsWith("/admin")) return next();
    const client = c.req.header("client")?.trim();
    const key = c.req.header("api-key") ?? c.req.header("x-api-key");
    if (!client || !key || client.length > 128 || key.length > 256) throw unauthorised();
    const hashes = await activeKeyHashes(c.env.DB, client);
    if (!(await matchesAnyKey(key, hashes))) throw unauthorised();
    c.set("client", client);
    return next();
  };
}

function unauthorised(): ApiError {
  return new ApiError(401, "unauthorised", "Unauthorised request.");
}
