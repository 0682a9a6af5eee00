import { createRoute, z } from "@hono/zod-openapi";
import { newRouter } from "../router";

const alive = createRoute({
  method: "get",
  path: "/",
  summary: "Liveness (no auth)",
  security: [],
  responses: {
    200: {
      description: "The engine is up",
      content: { "application/json": { schema: z.object({ result: z.literal("alive") }) } },
    },
  },
});

export const rootRoutes = newRouter().openapi(alive, (c) => c.json({ result: "alive" as const }, 200));
