import { createRoute, z } from "@hono/zod-openapi";
import { clientExists } from "../../db/clients";
import { insertWorkerToken, poolTokens, revokeWorkerToken } from "../../db/worker-tokens";
import { workerPoolFor } from "../../pool/stub";
import { randomToken, sha256Hex } from "../api-keys";
import { ApiError } from "../errors";
import { newRouter } from "../router";
import { bodyErrorResponses } from "../schemas";
import { ClientName, adminErrors, security } from "./admin-clients";
import { PoolName } from "./worker-leases";

const PoolParam = z.object({ pool: PoolName.openapi({ param: { name: "pool", in: "path" } }) });

const NewToken = z
  .object({
    token_id: z.string(),
    token: z.string().openapi({ description: "wkr_ token for `Authorization: Bearer`; shown once" }),
    pool: z.string(),
    label: z.string(),
    client: z.string().nullable(),
  })
  .openapi("NewWorkerToken");

const createTokenRoute = createRoute({
  method: "post",
  path: "/admin/pools/{pool}/tokens",
  summary: "Create a worker token for a pool (optionally scoped to one client); returned once",
  security,
  request: {
    params: PoolParam,
    body: { required: true, content: { "application/json": { schema: z.object({ label: z.string().min(1).max(100), client: ClientName.optional() }) } } },
  },
  responses: { 201: { description: "Created", content: { "application/json": { schema: NewToken } } }, ...adminErrors, ...bodyErrorResponses },
});

const revokeTokenRoute = createRoute({
  method: "delete",
  path: "/admin/pools/{pool}/tokens/{token_id}",
  summary: "Revoke a worker token; it stops working at once",
  security,
  request: { params: PoolParam.extend({ token_id: z.string().min(1).max(64).openapi({ param: { name: "token_id", in: "path" } }) }) },
  responses: { 200: { description: "Revoked", content: { "application/json": { schema: z.object({ result: z.literal("revoked") }) } } }, ...adminErrors },
});

const poolRoute = createRoute({
  method: "get",
  path: "/admin/pools/{pool}",
  summary: "A pool's workers (seen in the last 10 minutes), waiting tasks and tokens",
  security,
  request: { params: PoolParam },
  responses: {
    200: {
      description: "The pool",
      content: {
        "application/json": {
          schema: z.object({
            pool: z.string(),
            workers: z.array(z.object({ worker_id: z.string(), label: z.string(), token_id: z.string(), last_seen: z.string(), leases_held: z.number(), leases_taken: z.number() })),
            waiting: z.array(z.object({ job_id: z.string(), task: z.string(), attempt: z.number(), client: z.string(), priority: z.number(), offered_at: z.string() })),
            tokens: z.array(z.object({ token_id: z.string(), label: z.string(), client: z.string().nullable(), created_at: z.string(), revoked_at: z.string().nullable() })),
          }),
        },
      },
    },
    ...adminErrors,
  },
});

/** Operator API: worker pools and their tokens (workers.md). */
export const adminPoolRoutes = newRouter()
  .openapi(createTokenRoute, async (c) => {
    const { pool } = c.req.valid("param");
    const { label, client } = c.req.valid("json");
    if (client !== undefined && !(await clientExists(c.env.DB, client))) throw new ApiError(404, "not_found", `Client '${client}' not found.`);
    const tokenId = crypto.randomUUID();
    const token = `wkr_${tokenId}_${randomToken()}`;
    await insertWorkerToken(c.env.DB, { tokenId, pool, label, client: client ?? null, tokenHash: await sha256Hex(token), createdAt: new Date().toISOString() });
    return c.json({ token_id: tokenId, token, pool, label, client: client ?? null }, 201);
  })
  .openapi(revokeTokenRoute, async (c) => {
    const { pool, token_id } = c.req.valid("param");
    if (!(await revokeWorkerToken(c.env.DB, pool, token_id, new Date().toISOString()))) throw new ApiError(404, "not_found", "No such active token in this pool.");
    return c.json({ result: "revoked" as const }, 200);
  })
  .openapi(poolRoute, async (c) => {
    const { pool } = c.req.valid("param");
    const [status, tokens] = await Promise.all([workerPoolFor(c.env.WORKER_POOL, pool).status(), poolTokens(c.env.DB, pool)]);
    return c.json({
      pool,
      ...status,
      tokens: tokens.map((token) => ({ token_id: token.tokenId, label: token.label, client: token.client, created_at: token.createdAt, revoked_at: token.revokedAt })),
    }, 200);
  });
