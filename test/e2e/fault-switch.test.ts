import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";

/**
 * Queue fault injection (src/faults/) cannot be turned on in a production build: the deployable bundle,
 * built from wrangler.toml exactly as `npm run deploy` builds it, holds no fault code at all, so no var or
 * secret can reach it. The same build with the drill's `--define` does hold it (the check can see it).
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const wranglerBin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
const outRoot = mkdtempSync(join(tmpdir(), "fault-switch-"));
/** Strings that exist only in the fault code (src/faults/faulty-queue.ts). */
const FAULT_CODE = ["queue fault injected", "parseFaultRates", "faultyQueue", "FAULTS: "];

afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

/** `wrangler deploy --dry-run`: bundles the Worker as a deploy would, without uploading; returns the bundle. */
async function bundle(name: string, extra: string[] = []): Promise<string> {
  const outdir = join(outRoot, name);
  await promisify(execFile)(process.execPath, [wranglerBin, "deploy", "--dry-run", "--outdir", outdir, ...extra], {
    cwd: root,
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    timeout: 60_000,
  });
  return readFileSync(join(outdir, "index.js"), "utf8");
}

describe("the queue fault switch", () => {
  test("wrangler.toml sets it to the literal false, and the deploy scripts do not override it", () => {
    expect(readFileSync(join(root, "wrangler.toml"), "utf8")).toMatch(/^\[define\]\n__QUEUE_FAULTS__ = "false"$/m);
    const scripts = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    for (const name of ["deploy", "build:check"]) {
      expect(scripts[name]).toMatch(/^wrangler deploy\b/);
      expect(scripts[name]).not.toContain("--define");
    }
  });

  test("the deployable bundle holds no fault code: the switch is `if (false)` and nothing it would call is there", async () => {
    const code = await bundle("deploy");
    for (const marker of FAULT_CODE) expect(code, marker).not.toContain(marker);
    expect(code).not.toContain("__QUEUE_FAULTS__");
    expect(code).toMatch(/if \(false\) return faultyEnv\(env\)/);
    // faultyEnv is only named in the dead branch: its body was left out.
    expect(code).not.toMatch(/function faultyEnv\b/);
  });

  test("the chaos drill's build (--define __QUEUE_FAULTS__:true) does hold it", async () => {
    const code = await bundle("drill", ["--define", "__QUEUE_FAULTS__:true"]);
    for (const marker of FAULT_CODE) expect(code, marker).toContain(marker);
    expect(code).toMatch(/function faultyEnv\b/);
  });
});
