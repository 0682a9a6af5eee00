import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the project and its wrangler are, and the environment every wrangler run of the drill gets. */

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// `wrangler/bin/wrangler.js` is not in the package's exports; its package.json is.
export const wranglerBin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
/** Offline, quiet, and without wrangler's local dashboards (they roughly double the runtime's CPU per request). */
export const wranglerEnv: NodeJS.ProcessEnv = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  X_LOCAL_OBSERVABILITY: "false",
  X_LOCAL_EXPLORER: "false",
};
