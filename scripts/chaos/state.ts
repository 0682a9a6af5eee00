import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { root, wranglerBin, wranglerEnv } from "./paths.ts";

/** The drill's state directory: D1 migrated, the R2 bucket seeded, before the engine first starts on it. */

/** The bucket behind the MEDIA binding (wrangler.toml); wrangler keeps a local bucket under its name. */
const MEDIA_BUCKET = "task-engine-media";

/** What the drill uses of the bucket (Miniflare's R2 types clash with the Worker types this project compiles with). */
interface MediaBucket {
  put(key: string, body: string): Promise<unknown>;
  list(options: { prefix: string; cursor?: string }): Promise<{ objects: { key: string }[]; truncated: boolean; cursor?: string }>;
}

/**
 * A fresh directory under .e2e-state/ (git-ignored). Its name ends in `-<pid>-<hex>` like the e2e harness's,
 * so the harness removes it if this process dies without cleaning up.
 */
export function newStateDir(): string {
  const dir = join(root, ".e2e-state", `chaos-${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The name a state directory is kept under after the drill (one the e2e harness does not sweep). */
export function keptName(): string {
  return join(root, ".e2e-state", `chaos-kept-${new Date().toISOString().replace(/[:.]/g, "-")}`);
}

/** Applies the D1 migrations to the state directory, as `npm run dev` does. */
export async function applyMigrations(persistTo: string): Promise<void> {
  await promisify(execFile)(process.execPath, [wranglerBin, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
    cwd: root,
    env: wranglerEnv,
    timeout: 120_000,
  });
}

/**
 * Builds the engine once, with the fault switch on, into `<dir>/build`, and writes a copy of wrangler.toml
 * there that runs that bundle as it is (`no_bundle`). Every start of the drill runs this same code: `wrangler
 * dev` would otherwise watch src/ and reload mid-drill when someone edits a file. Returns the config's path.
 */
export async function buildEngine(stateDir: string, defines: Record<string, string>): Promise<string> {
  const outdir = join(stateDir, "build");
  const args = [wranglerBin, "deploy", "--dry-run", "--outdir", outdir];
  for (const [name, value] of Object.entries(defines)) args.push("--define", `${name}:${value}`);
  await promisify(execFile)(process.execPath, args, { cwd: root, env: wranglerEnv, timeout: 120_000 });
  const config = readFileSync(join(root, "wrangler.toml"), "utf8");
  const main = /^main = "[^"]*"$/m;
  if (!main.test(config)) throw new Error('wrangler.toml has no `main = "…"` line');
  const name = /^name = "[^"]*"$/m;
  if (!name.test(config)) throw new Error('wrangler.toml has no `name = "…"` line');
  // Its own name: a kept state directory holds a fault-enabled build that must never pass for the engine.
  // The static assets stay where the engine's are (a relative directory would point inside the build).
  const snapshot = config
    .replace(main, 'main = "index.js"\nno_bundle = true\nfind_additional_modules = false')
    .replace(name, 'name = "task-engine-chaos-drill"')
    .replace(/^directory = "\.\/public"$/m, `directory = ${JSON.stringify(join(root, "public"))}`);
  writeFileSync(join(outdir, "wrangler.toml"), snapshot);
  return join(outdir, "wrangler.toml");
}

/** Puts objects into the local R2 bucket of the state directory (the engine must not be running). */
export async function seedMedia(persistTo: string, objects: Record<string, string>): Promise<void> {
  const mf = mediaOnly(persistTo);
  try {
    const bucket = (await mf.getR2Bucket("MEDIA")) as unknown as MediaBucket;
    for (const [key, body] of Object.entries(objects)) await bucket.put(key, body);
  } finally {
    await mf.dispose();
  }
}

/** A Miniflare with only the MEDIA bucket, persisted where `wrangler dev --persist-to <dir>` keeps it (`<dir>/v3`). */
function mediaOnly(persistTo: string): Miniflare {
  return new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
      r2Buckets: { MEDIA: MEDIA_BUCKET },
      resourcePersistencePath: join(persistTo, "v3"),
    }),
  );
}

/** The keys of the local bucket under `prefix` (the engine must not be running). */
export async function listMedia(persistTo: string, prefix: string): Promise<string[]> {
  const mf = mediaOnly(persistTo);
  try {
    const bucket = (await mf.getR2Bucket("MEDIA")) as unknown as MediaBucket;
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, cursor });
      keys.push(...page.objects.map((object) => object.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return keys.sort();
  } finally {
    await mf.dispose();
  }
}
