// Test-only bindings added by vitest.config.ts.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** A second job index shard (db/index-shards.ts). */
    JOB_INDEX_1: D1Database;
  }
}
