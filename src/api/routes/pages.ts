import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { newRouter } from "../router";

/**
 * The engine's two pages, served from the Worker's static assets (public/, built by scripts/build-assets.mjs
 * from npm packages and ui/): the API reference at /docs (Swagger UI from swagger-ui-dist) and the dashboard
 * at /ui. Nothing comes from a CDN, and each page gets a Content-Security-Policy that lets it load only its own
 * files and call only this engine.
 */

const COMMON = ["default-src 'none'", "script-src 'self'", "img-src 'self' data:", "connect-src 'self'", "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"];
/** Swagger UI sets style attributes on its elements. */
export const DOCS_CSP = [...COMMON, "style-src 'self' 'unsafe-inline'"].join("; ");
/** The dashboard styles from its stylesheet only (its script sets positions through the CSSOM). */
export const UI_CSP = [...COMMON, "style-src 'self'"].join("; ");

async function asset(c: Context<AppEnv>, path: string, csp: string): Promise<Response> {
  const assets = c.env.ASSETS as Fetcher | undefined;
  if (!assets) throw new ApiError(404, "not_found", "This deployment serves no static assets (run `npm install`, which builds public/).");
  const found = await assets.fetch(new Request(new URL(path, c.req.url)));
  if (found.status === 404) throw new ApiError(404, "not_found", `No file ${path}.`);
  const response = new Response(found.body, found);
  response.headers.set("content-security-policy", csp);
  response.headers.set("x-content-type-options", "nosniff");
  response.headers.set("referrer-policy", "no-referrer");
  // The pages change with the engine: revalidated on every load.
  response.headers.set("cache-control", "no-cache");
  return response;
}

export const pageRoutes = newRouter()
  .get("/docs", (c) => asset(c, "/docs/index.html", DOCS_CSP))
  .get("/docs/*", (c) => asset(c, c.req.path, DOCS_CSP))
  .get("/ui", (c) => asset(c, "/ui/index.html", UI_CSP))
  .get("/ui/*", (c) => asset(c, c.req.path, UI_CSP));
