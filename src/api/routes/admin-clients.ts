import { createRoute, z } from "@hono/zod-openapi";
import { clientExists, insertClient, insertKey, revokeKey } from "../../db/clients";
import { boundShards, defaultShard, MAX_SHARDS } from "../../db/index-shards";
import { newSigningSecret } from "../../domain/signing";
import { newApiKey, sha256Hex } from "../api-keys";
import { ApiError } from "../errors";
import { newRouter } from "../router";
import { ErrorBody, bodyErrorResponses } from "../schemas";
import { forgetClient } from "../client-cache";

// No regex flags: a flag does not reach the pattern /openapi.json publishes, which would then match other names.
export const ClientName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be 1-63 letters, digits, dots, dashes or underscores")
  .openapi({ example: "demo-client" });

const NewKey = z.object({ client: z.string(), key_id: z.string(), api_key: z.string() }).openapi("NewApiKey");
const NewClient = NewKey.extend({
  signing_secret: z.string().openapi({ description: "whsec_ secret that signs this client's callbacks; shown once" }),
  index_shard: z.number().int().openapi({ description: "The D1 shard holding this client's job index (fixed)" }),
}).openapi("NewClient");
const NewClientRequest = z.object({
  name: ClientName,
  index_shard: z
    .number()
    .int()
    .min(0)
    .max(MAX_SHARDS - 1)
    .optional()
    .openapi({ description: "The D1 shard for this client's job index: 0 (the main database) or n for binding JOB_INDEX_n; fixed once the client exists. Default: NEW_CLIENT_INDEX_SHARD, else 0" }),
});
export const adminErrors = {
  400: { description: "Bad input", content: { "application/json": { schema: ErrorBody } } },
  401: { description: "Missing or wrong admin token", content: { "application/json": { schema: ErrorBody } } },
  429: { description: "Too many failed authentications from this address (Retry-After)", content: { "application/json": { schema: ErrorBody } } },
  404: { description: "No such client or key", content: { "application/json": { schema: ErrorBody } } },
  409: { description: "Client exists", content: { "application/json": { schema: ErrorBody } } },
} as const;
export const security = [{ adminBearer: [] }];

const createClientRoute = createRoute({
  method: "post",
  path: "/admin/clients",
  summary: "Create a client; its first API key is returned once",
  security,
  request: { body: { required: true, content: { "application/json": { schema: NewClientRequest } } } },
  responses: { 201: { description: "Created", content: { "application/json": { schema: NewClient } } }, ...adminErrors, ...bodyErrorResponses },
});

const addKeyRoute = createRoute({
  method: "post",
  path: "/admin/clients/{name}/keys",
  summary: "Add an API key to a client (key rotation); returned once",
  security,
  request: {
    params: z.object({ name: ClientName }),
    body: { required: false, content: { "application/json": { schema: z.object({ label: z.string().max(100).optional() }) } } },
  },
  responses: { 201: { description: "Created", content: { "application/json": { schema: NewKey } } }, ...adminErrors, ...bodyErrorResponses },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/admin/clients/{name}/keys/{key_id}",
  summary: "Revoke an API key; it stops working at once in the isolate that revokes it, everywhere within 10 s",
  security,
  request: { params: z.object({ name: ClientName, key_id: z.string().min(1).max(64) }) },
  responses: {
    200: { description: "Revoked", content: { "application/json": { schema: z.object({ result: z.literal("revoked") }) } } },
    ...adminErrors,
  },
});


/** Operator API: clients and their API keys. */
export const adminClientRoutes = newRouter()
  .openapi(createClientRoute, async (c) => {
    const { name, index_shard } = c.req.valid("json");
    const shards = boundShards(c.env);
    if (index_shard !== undefined && !shards.includes(index_shard)) {
      const message = `shard ${index_shard} is not bound here (bound shards: ${shards.join(", ")})`;
      throw new ApiError(400, "validation_failed", `index_shard: ${message}`, [{ path: "index_shard", message }]);
    }
    const indexShard = index_shard ?? defaultShard(c.env);
    const key = newApiKey();
    const keyId = crypto.randomUUID();
    const signingSecret = newSigningSecret();
    const config = JSON.stringify({ signing_secrets: [{ secret: signingSecret, expires_at: null }] });
    if (!(await insertClient(c.env.DB, { name, keyId, keyHash: await sha256Hex(key), config, indexShard }, new Date().toISOString()))) {
      throw new ApiError(409, "conflict", `Client '${name}' already exists.`);
    }
    return c.json({ client: name, key_id: keyId, api_key: key, signing_secret: signingSecret, index_shard: indexShard }, 201);
  })
  .openapi(addKeyRoute, async (c) => {
    const { name } = c.req.valid("param");
    if (!(await clientExists(c.env.DB, name))) throw new ApiError(404, "not_found", `Client '${name}' not found.`);
    const label = c.req.header("content-type") ? (c.req.valid("json").label ?? null) : null;
    const key = newApiKey();
    const keyId = crypto.randomUUID();
    await insertKey(c.env.DB, name, keyId, await sha256Hex(key), label, new Date().toISOString());
    return c.json({ client: name, key_id: keyId, api_key: key }, 201);
  })
  .openapi(revokeKeyRoute, async (c) => {
    const { name, key_id } = c.req.valid("param");
    if (!(await revokeKey(c.env.DB, name, key_id, new Date().toISOString()))) {
      throw new ApiError(404, "not_found", "No such active key for this client.");
    }
    // At once in this isolate; other isolates stop accepting the key within CLIENT_CACHE_MS.
    forgetClient(name);
    return c.json({ result: "revoked" as const }, 200);
  });
