#!/usr/bin/env node
// `npx task-engine …` in this repository: runs client/cli.ts under Node's TypeScript support (22.12+).
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = join(dirname(fileURLToPath(import.meta.url)), "cli.ts");
const result = spawnSync(process.execPath, ["--experimental-transform-types", "--disable-warning=ExperimentalWarning", cli, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? 1);
