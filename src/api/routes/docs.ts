import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { newRouter } from "../router";

/**
 * The API reference at /docs: Swagger UI from the pinned npm package swagger-ui-dist, served from the
 * Worker's static assets (built by scripts/build-assets.mjs), never from a CDN, under a Content-Security-Policy
 * that lets the page load nothing but its own files and /openapi.json.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes on its elements.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

async function asset(c: Context<AppEnv>, path: string): Promise<Response> {
  const assets = c.env.ASSETS as Fetcher | undefined;
  if (!assets) throw new ApiError(404, "not_found", "This deployment serves no static assets (run `npm install`, which builds public/).");
  const found = await assets.fetch(new Request(new URL(path, c.req.url)));
  if (found.status === 404) throw new ApiError(404, "not_found", `No file ${path}.`);
  const response = new Response(found.body, found);
  response.headers.set("content-security-policy", DOCS_CSP);
  response.headers.set("x-content-type-options", "nosniff");
  response.headers.set("referrer-policy", "no-referrer");
  return response;
}

export const docsRoutes = newRouter()
  .get("/docs", (c) => asset(c, "/docs/index.html"))
  .get("/docs/*", (c) => asset(c, c.req.path));
