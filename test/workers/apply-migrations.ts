import { applyD1Migrations, env } from "cloudflare:test";

// Setup files may run more than once; applyD1Migrations skips migrations already applied.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// The second job index shard takes the same migrations (only its jobs table is used).
await applyD1Migrations(env.JOB_INDEX_1, env.TEST_MIGRATIONS);
