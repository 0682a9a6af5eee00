#!/usr/bin/env node
// `npm run dev`: applies the D1 migrations locally, seeds the development client `demo-client`, then
// serves the engine with `wrangler dev` on http://localhost:8787. Local only: nothing here touches Cloudflare.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
const port = process.env.PORT ?? "8787";

function run(args) {
  const result = spawnSync(process.execPath, [wrangler, ...args], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  if (result.status !== 0) {
    process.stdout.write(result.stdout);
    process.exit(result.status ?? 1);
  }
}

/** The development client's credentials, made once and kept in .wrangler/ (git-ignored). */
function devCredentials() {
  const file = join(root, ".wrangler", "dev-client.json");
  const stored = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const credentials = {
    client: "demo-client",
    api_key: `tek_dev_${randomBytes(24).toString("base64url")}`,
    admin_token: `adm_dev_${randomBytes(24).toString("base64url")}`,
    signing_secret: `whsec_${randomBytes(32).toString("base64")}`,
    worker_token: `wkr_${randomUUID()}_${randomBytes(32).toString("base64url")}`,
    drm_key_secret: randomBytes(32).toString("base64url"),
    drm_seed: randomBytes(32).toString("hex"),
    ...stored,
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(credentials, null, 2));
  return credentials;
}

const credentials = devCredentials();
const sqlText = (text) => `'${text.replaceAll("'", "''")}'`;
const keyHash = createHash("sha256").update(credentials.api_key).digest("hex");
const workerTokenId = /^wkr_([0-9a-f-]{36})_/.exec(credentials.worker_token)[1];
const workerTokenHash = createHash("sha256").update(credentials.worker_token).digest("hex");
// The demo client's files are in the local R2 bucket (MEDIA), below content/vod.
const config = JSON.stringify({
  signing_secrets: [{ secret: credentials.signing_secret, expires_at: null }],
  storage: { default: "R2", locations: { R2: { driver: "r2", binding: "MEDIA", roots: { input_root: "input", output_root: "content/vod" } } } },
  // Development keys for protected packages (vodstream `drm`): derived from this seed (media.md, DRM).
  drm: { provider: "static", seed: credentials.drm_seed },
});
const now = new Date().toISOString();

console.log("Building the pages' assets (public/)…");
spawnSync(process.execPath, [join(root, "scripts", "build-assets.mjs")], { cwd: root, stdio: "inherit" });
console.log("Applying D1 migrations locally…");
run(["d1", "migrations", "apply", "DB", "--local"]);
console.log("Seeding the development client…");
run([
  "d1",
  "execute",
  "DB",
  "--local",
  "--command",
  `INSERT OR IGNORE INTO clients (name, config, created_at) VALUES (${sqlText(credentials.client)}, ${sqlText(config)}, ${sqlText(now)});
   INSERT OR IGNORE INTO api_keys (id, client, key_hash, label, created_at)
     VALUES ('dev-key', ${sqlText(credentials.client)}, ${sqlText(keyHash)}, 'development', ${sqlText(now)});
   UPDATE clients SET config = ${sqlText(config)} WHERE name = ${sqlText(credentials.client)} AND config = '{}';
   INSERT OR IGNORE INTO worker_tokens (token_id, pool, label, client, token_hash, created_at)
     VALUES (${sqlText(workerTokenId)}, 'media', 'development', NULL, ${sqlText(workerTokenHash)}, ${sqlText(now)});`,
]);

console.log(`
┌─ Task Engine (local) ───────────────────────────────────────────────
│ API          http://localhost:${port}
│ client       ${credentials.client}
│ api-key      ${credentials.api_key}
│ signing      ${credentials.signing_secret}   (verifies webhook-signature)
│ worker       ${credentials.worker_token}   (pool media)
│              npm run worker -- --engine http://localhost:${port} --token ${credentials.worker_token}
│ ADMIN_TOKEN  ${credentials.admin_token}
│ (kept in .wrangler/dev-client.json; delete .wrangler/ for a clean start)
└─────────────────────────────────────────────────────────────────────
`);

const dev = spawn(
  process.execPath,
  // Development settings are passed here, never kept in wrangler.toml: a plain `wrangler deploy` stays safe.
  [wrangler, "dev", "--port", port, "--var", `ADMIN_TOKEN:${credentials.admin_token}`, "--var", "ALLOW_PRIVATE_CALLBACKS:true", "--var", "TASK_BATCH_BUDGET_MS:50", "--var", `DRM_KEY_SECRET:${credentials.drm_key_secret}`, ...process.argv.slice(2)],
  { cwd: root, env, stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
