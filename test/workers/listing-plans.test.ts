import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listJobsQuery, type JobFilter } from "../../src/db/jobs";

/**
 * GET /jobs on a large client must read one index range in order: each filter's plan searches an index
 * that starts with the client (no full scan) and needs no sort step (no temporary B-tree). bench/api.ts
 * times these on 100,000 jobs; this checks the plans they depend on, and that the partial indexes (failed,
 * persisted jobs only) serve their filters.
 */
const base: JobFilter = { limit: 50, orderBy: "created_at", ascending: false };
const cursor = { value: "2026-11-01T00:00:00.000Z", id: "01KAAAAAAAAAAAAAAAAAAAAAAA" };

const filters: [string, JobFilter][] = [
  ["no filter", base],
  ["oldest first", { ...base, ascending: true }],
  ["state", { ...base, queueState: "completed" }],
  ["state and failed", { ...base, queueState: "completed", failed: true }],
  ["failed", { ...base, failed: true }],
  ["workflow", { ...base, workflow: "selftest" }],
  ["persist", { ...base, persist: true }],
  ["not persisted", { ...base, persist: false }],
  ["not failed", { ...base, failed: false }],
  ["created from / to", { ...base, from: "2026-01-01T00:00:00.000Z", to: "2026-06-01T00:00:00.000Z" }],
  ["order by updated_at", { ...base, orderBy: "updated_at" }],
  ["order by priority", { ...base, orderBy: "priority", ascending: true }],
  ["next page", { ...base, after: cursor }],
  ["next page, oldest first", { ...base, ascending: true, after: cursor }],
  ["next page of a state", { ...base, queueState: "completed", after: cursor }],
  ["next page by priority", { ...base, orderBy: "priority", after: { value: 5, id: cursor.id } }],
];

async function plan(sql: string, params: unknown[]): Promise<string[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return results.map((row) => row.detail);
}

describe("GET /jobs query plans", () => {
  it.each(filters)("%s: one index range, read in order", async (_name, filter) => {
    const { sql, params } = listJobsQuery("plans", filter);
    const steps = await plan(sql, params);
    expect(steps.join(" | ")).toMatch(/^SEARCH jobs USING INDEX jobs_client_\w+ \(client=\?/);
    expect(steps.some((step) => step.includes("TEMP B-TREE"))).toBe(false);
    // A cursor is a range of the index, not a condition checked row by row.
    if (filter.after) expect(steps[0]).toMatch(new RegExp(`\\(${filter.orderBy},id\\)[<>]\\(\\?,\\?\\)`));
  });

  it("looks listed job ids up by primary key instead of walking the client's index", async () => {
    const ids = Array.from({ length: 20 }, (_, index) => `01KAAAAAAAAAAAAAAAAAAAAA${String(index).padStart(2, "0")}`);
    const { sql, params } = listJobsQuery("plans", { ...base, jobIds: ids });
    const steps = await plan(sql, params);
    expect(steps[0]).toMatch(/^SEARCH jobs USING PRIMARY KEY \(id=\?\)/);
  });

  it("reads failed and persisted jobs from their partial indexes", async () => {
    const planOf = (filter: JobFilter) => {
      const { sql, params } = listJobsQuery("plans", filter);
      return plan(sql, params);
    };
    const failed = await planOf({ ...base, failed: true });
    expect(failed[0]).toMatch(/^SEARCH jobs USING INDEX jobs_client_failed \(client=\?\)/);
    const stateFailed = await planOf({ ...base, queueState: "completed", failed: true });
    expect(stateFailed[0]).toMatch(/^SEARCH jobs USING INDEX jobs_client_state_failed \(client=\? AND queue_state=\?\)/);
    const persisted = await planOf({ ...base, persist: true });
    expect(persisted[0]).toMatch(/^SEARCH jobs USING INDEX jobs_client_persisted \(client=\?\)/);
  });
});
