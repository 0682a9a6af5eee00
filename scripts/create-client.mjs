#!/usr/bin/env node
// `npm run client:create -- <name> [url]`: creates a client on a running engine through the operator API
// and prints its API key and signing secret (shown once). Locally it reads the ADMIN_TOKEN that `npm run dev`
// made; elsewhere set ADMIN_TOKEN and pass the engine's URL.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [name, base = process.env.ENGINE_URL ?? "http://localhost:8787"] = process.argv.slice(2);
if (!name) {
  console.error("usage: npm run client:create -- <name> [engine url]");
  process.exit(2);
}
const devFile = join(dirname(fileURLToPath(import.meta.url)), "..", ".wrangler", "dev-client.json");
const token = process.env.ADMIN_TOKEN ?? (existsSync(devFile) ? JSON.parse(readFileSync(devFile, "utf8")).admin_token : undefined);
if (!token) {
  console.error("No ADMIN_TOKEN: set it, or start the engine once with `npm run dev`.");
  process.exit(2);
}
const response = await fetch(new URL("/admin/clients", base), {
  method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  body: JSON.stringify({ name }),
});
const body = await response.json();
if (response.status !== 201) {
  console.error(`${response.status}: ${body.error ?? JSON.stringify(body)}`);
  process.exit(1);
}
console.log(`client          ${body.client}
api-key         ${body.api_key}
key id          ${body.key_id}
signing secret  ${body.signing_secret}
(shown once: store them now)`);
