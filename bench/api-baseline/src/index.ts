// Benchmark baseline for bench/api.ts (see wrangler.toml): the least a worker must do to accept a job durably
// (parse the body, one D1 INSERT) and to list a page of jobs (one indexed D1 query, rows as JSON).

interface ApiBaselineEnv {
  /** A copy of the engine's D1 database, seeded by bench/api.ts. */
  JOBS: D1Database;
  /** This worker's own database, for the submit baseline. */
  OWN: D1Database;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS submits (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL)`;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/setup") {
      await env.OWN.prepare(SCHEMA).run();
      return json({ ok: true });
    }
    if (request.method === "POST" && url.pathname === "/job") {
      const body = await request.json();
      const id = crypto.randomUUID();
      await env.OWN.prepare(`INSERT INTO submits (id, body, created_at) VALUES (?, ?, ?)`)
        .bind(id, JSON.stringify(body), new Date().toISOString())
        .run();
      return json({ id, result: "accepted" }, 202);
    }
    if (request.method === "GET" && url.pathname === "/jobs") {
      const client = url.searchParams.get("client") ?? "";
      const limit = Number(url.searchParams.get("limit") ?? 50);
      const { results } = await env.JOBS.prepare(`SELECT * FROM jobs WHERE client = ? ORDER BY created_at DESC, id DESC LIMIT ?`)
        .bind(client, limit)
        .all();
      return json(results);
    }
    if (request.method === "POST" && url.pathname === "/sql") {
      const { sql, params } = (await request.json()) as { sql: string; params: (string | number | null)[] };
      try {
        const { results } = await env.JOBS.prepare(sql).bind(...params).all();
        return json(results);
      } catch (error) {
        return json({ error: error instanceof Error ? error.message : String(error) }, 400);
      }
    }
    return json({ error: "not found" }, 404);
  },
} satisfies ExportedHandler<ApiBaselineEnv>;
