import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Three tiers (quality.md): `unit` is pure logic in Node; `workers` runs inside workerd with real D1,
 * Durable Objects, Queues and R2; `e2e` starts the real worker (wrangler) and talks HTTP to it. `storage`
 * runs the S3 and Azure Blob drivers in Node against local servers (s3rver, azurite) its setup starts.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  return {
    test: {
      projects: [
        {
          test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: { TEST_MIGRATIONS: migrations, ALLOW_PRIVATE_CALLBACKS: "true" },
                // A second job index shard (db/index-shards.ts), for the two-shard test.
                d1Databases: { DB: "00000000-0000-0000-0000-000000000000", JOB_INDEX_1: "task-engine-index-1" },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/workers/**/*.test.ts"],
            setupFiles: ["test/workers/apply-migrations.ts"],
          },
        },
        {
          test: {
            name: "storage",
            include: ["test/storage/**/*.test.ts"],
            environment: "node",
            globalSetup: ["test/support/storage-global-setup.ts"],
            testTimeout: 60_000,
            hookTimeout: 60_000,
          },
        },
        {
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            globalSetup: ["test/support/build-assets-setup.ts"],
            environment: "node",
            testTimeout: 120_000,
            hookTimeout: 120_000,
            fileParallelism: false,
            // wrangler's local dashboards (observability collector, data explorer) roughly double the
            // runtime's CPU per request; the tests need neither.
            env: { X_LOCAL_OBSERVABILITY: "false", X_LOCAL_EXPLORER: "false" },
          },
        },
      ],
    },
  };
});
