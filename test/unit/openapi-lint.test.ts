import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { createApp } from "../../src/api/app";
import { operationIdOf } from "../../src/api/openapi-document";

const exec = promisify(execFile);

/**
 * /openapi.json as other tools see it: Redocly's CLI (`@redocly/cli lint`, its recommended rules, no
 * configuration of ours) finds no error and no warning in it.
 */
it("lints clean with Redocly's recommended rules", async () => {
  const response = await createApp().request("http://127.0.0.1:8787/openapi.json", {}, { ENGINE_VERSION: "1.2.3" });
  const folder = mkdtempSync(join(tmpdir(), "openapi-lint-"));
  try {
    const file = join(folder, "openapi.json");
    writeFileSync(file, await response.text());
    const result = await exec(join("node_modules", ".bin", "redocly"), ["lint", file, "--format=json"], {
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      maxBuffer: 16 << 20,
    }).catch((error: { stdout?: string; stderr?: string }) => error);
    const report = JSON.parse(result.stdout ?? "{}") as { totals?: { errors: number; warnings: number }; problems?: { ruleId: string; message: string }[] };
    expect(report.problems?.map((problem) => `${problem.ruleId}: ${problem.message}`) ?? [result.stderr]).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}, 60_000);

it("names every operation from its method and path", () => {
  expect(operationIdOf("GET", "/jobs/{id}/callbacks")).toBe("getJobsByIdCallbacks");
  expect(operationIdOf("get", "/")).toBe("getRoot");
  expect(operationIdOf("put", "/admin/clients/{name}/drm")).toBe("putAdminClientsByNameDrm");
  expect(operationIdOf("post", "/workers/leases/{lease_id}/heartbeat")).toBe("postWorkersLeasesByLeaseIdHeartbeat");
});
