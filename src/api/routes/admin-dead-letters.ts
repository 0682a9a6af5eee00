import { createRoute, z } from "@hono/zod-openapi";
import { newRouter } from "../router";
import { adminErrors, security } from "./admin-clients";

const deadLettersRoute = createRoute({
  method: "get",
  path: "/admin/dead-letters",
  summary: "Dead letters per client and queue (messages the queues gave up on, kept for inspection)",
  security,
  responses: {
    200: {
      description: "The counts, most first",
      content: { "application/json": { schema: z.object({ dead_letters: z.array(z.object({ client: z.string().nullable(), queue: z.string(), count: z.number() })) }) } },
    },
    ...adminErrors,
  },
});

/** Operator API: how many dead letters each client has in each queue (the dashboard's operator page). */
export const adminDeadLetterRoutes = newRouter().openapi(deadLettersRoute, async (c) => {
  const { results } = await c.env.DB.prepare(`SELECT client, queue, COUNT(*) AS count FROM dead_letters GROUP BY client, queue ORDER BY count DESC, client, queue LIMIT 1000`).all<{ client: string | null; queue: string; count: number }>();
  return c.json({ dead_letters: results }, 200);
});
