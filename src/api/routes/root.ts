import { createRoute, z } from "@hono/zod-openapi";
import { newRouter } from "../router";
import { ErrorBody } from "../schemas";

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
    429: { description: "This address is blocked for a while after repeated failed sign-ins", content: { "application/json": { schema: ErrorBody } } },
  },
});

export const rootRoutes = newRouter().openapi(alive, (c) => c.json({ result: "alive" as const }, 200));
