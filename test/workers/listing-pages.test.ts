import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createClient } from "./helpers";

/**
 * GET /jobs cursor pagination: following the `Link: <…>; rel="next"` header walks every job exactly once,
 * in the requested order, also through runs of equal values (ties are broken by id).
 */
const CLIENT = "pages";
const JOBS = 37;

interface Row {
  id: string;
  priority: number;
  created_at: string;
  updated_at: string;
}

const rows: Row[] = Array.from({ length: JOBS }, (_, index) => ({
  id: `01KPAGES${String(index).padStart(18, "0")}`,
  // Few distinct values, so pages start and end inside runs of ties.
  priority: [5, 5, 5, 1, 9, 5, 3][index % 7]!,
  created_at: `2026-11-${String(1 + (index % 4)).padStart(2, "0")}T00:00:00.000Z`,
  updated_at: `2026-11-20T00:00:${String(index % 3).padStart(2, "0")}.000Z`,
}));

async function seed(): Promise<Record<string, string>> {
  const headers = await createClient(CLIENT);
  await env.DB.batch(
    rows.map((row) =>
      env.DB.prepare(
        `INSERT INTO jobs (id, client, workflow, content_id, priority, queue_state, parameters, created_at, updated_at)
         VALUES (?, ?, 'selftest', 'c', ?, 'completed', '{}', ?, ?)`,
      ).bind(row.id, CLIENT, row.priority, row.created_at, row.updated_at),
    ),
  );
  return headers;
}

async function walk(query: string, headers: Record<string, string>): Promise<string[]> {
  const seen: string[] = [];
  let path: string | null = `/jobs?limit=5&${query}`;
  for (let pages = 0; path; pages++) {
    expect(pages).toBeLessThan(20);
    const response = await call(path, { headers });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { id: string }[] | { jobs: { id: string }[] };
    const jobs = Array.isArray(body) ? body : body.jobs;
    seen.push(...jobs.map((job) => job.id));
    const next = response.headers.get("link")?.match(/<([^>]+)>;\s*rel="next"/)?.[1];
    path = next ? new URL(next, "http://engine.test").pathname + new URL(next, "http://engine.test").search : null;
  }
  return seen;
}

const byKey = (key: keyof Row, ascending: boolean) => (a: Row, b: Row) => {
  const order = a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return ascending ? order : -order;
};

describe("GET /jobs pages", () => {
  it.each([
    ["order_by=created_at", "created_at", false],
    ["order_by=created_at&asc=1", "created_at", true],
    ["order_by=updated_at", "updated_at", false],
    ["order_by=priority&asc=1", "priority", true],
    ["order_by=priority", "priority", false],
  ] as const)("%s: every job once, in order, across pages", async (query, key, ascending) => {
    const headers = (await env.DB.prepare(`SELECT 1 FROM clients WHERE name = ?`).bind(CLIENT).first()) ? await createClient(CLIENT) : await seed();
    const expected = [...rows].sort(byKey(key, ascending)).map((row) => row.id);
    expect(await walk(query, headers)).toStrictEqual(expected);
  });
});
