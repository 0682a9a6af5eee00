import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The e2e tier's global setup: the pages' assets built from the current ui/ (not a bundle left from an earlier install). */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  execFileSync(process.execPath, [join(root, "scripts", "build-assets.mjs")], { cwd: root, stdio: "inherit" });
}
