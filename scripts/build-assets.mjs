#!/usr/bin/env node
// Builds public/ (git-ignored), the Worker's static assets (wrangler.toml [assets]): the API reference at /docs
// from the pinned npm package swagger-ui-dist, and the dashboard at /ui (ui/, its script bundled by esbuild with
// the typed client), so no page of the engine loads anything from a CDN. Run by `npm install` (postinstall),
// `npm run dev`, deploy and build:check; idempotent, ≈ 0.3 s.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const swagger = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const docs = join(root, "public", "docs");
mkdirSync(docs, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"]) copyFileSync(join(swagger, file), join(docs, file));
// No inline script or style: the pages are served with a Content-Security-Policy of 'self' only.
writeFileSync(
  join(docs, "index.html"),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Task Engine API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`,
);
writeFileSync(join(docs, "init.js"), `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });\n`);

const ui = join(root, "public", "ui");
mkdirSync(ui, { recursive: true });
for (const file of ["index.html", "app.css"]) copyFileSync(join(root, "ui", file), join(ui, file));
// esbuild is a development dependency: an install without them (npm ci --omit=dev) gets /docs but no /ui.
let esbuild = null;
try {
  esbuild = await import("esbuild");
} catch {
  console.warn("build-assets: esbuild is not installed (development dependencies left out): /ui is not built");
}
esbuild?.buildSync({ entryPoints: [join(root, "ui", "app.ts")], bundle: true, format: "esm", target: "es2022", minify: true, sourcemap: false, outfile: join(ui, "app.js"), logLevel: "warning" });
