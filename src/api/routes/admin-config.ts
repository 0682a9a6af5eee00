import { createRoute, z } from "@hono/zod-openapi";
import { clientConfigText, clientKeys, putClientConfigText } from "../../db/clients";
import { CallbackRule, ClientConfig, KeyProvider, parseClientConfig, redactedConfig, redactedKeyProvider, withSections } from "../../domain/client-config";
import { keyServerUrlProblem } from "../../domain/endpoints";
import { engineConfig } from "../../config";
import { newSigningSecret } from "../../domain/signing";
import { ApiError } from "../errors";
import { newRouter } from "../router";
import { bodyErrorResponses } from "../schemas";
import { adminErrors, ClientName, security } from "./admin-clients";
import { forgetClient } from "../client-cache";

const getClientRoute = createRoute({
  method: "get",
  path: "/admin/clients/{name}",
  summary: "A client's keys (without their values) and configuration (secrets masked)",
  security,
  request: { params: z.object({ name: ClientName }) },
  responses: {
    200: { description: "The client", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...adminErrors,
  },
});

const putConfigRoute = createRoute({
  method: "put",
  path: "/admin/clients/{name}/config",
  summary: "Set a client's callback rules (URL prefix → extra headers, events filter, body template)",
  security,
  request: {
    params: z.object({ name: ClientName }),
    body: { required: true, content: { "application/json": { schema: z.object({ callback_rules: z.array(CallbackRule).max(50) }) } } },
  },
  responses: {
    200: { description: "Stored (secrets masked)", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...adminErrors,
    ...bodyErrorResponses,
  },
});

const putPoolsRoute = createRoute({
  method: "put",
  path: "/admin/clients/{name}/pools",
  summary: "Map worker pools to the client's own (its jobs' tasks of pool `media` go to `acme-onprem`, say)",
  security,
  request: {
    params: z.object({ name: ClientName }),
    body: { required: true, content: { "application/json": { schema: z.object({ pools: ClientConfig.shape.pools.unwrap().openapi({ example: { media: "acme-onprem" } }) }) } } },
  },
  responses: {
    200: { description: "Stored (secrets masked)", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...adminErrors,
    ...bodyErrorResponses,
  },
});

const putDrmRoute = createRoute({
  method: "put",
  path: "/admin/clients/{name}/drm",
  summary: "Set a client's DRM key provider: a CPIX 2.3 key server (URL and headers) or static keys from a secret seed",
  description:
    "Protected packages (vodstream `drm`) get their content keys from here. `cpix`: the engine POSTs a CPIX 2.3 request (the key ids it chose, " +
    "per track type and scheme, and the DRM systems' ids) to `url` with `headers`, and uses the keys (PlainValue) and PSSH / HLS key URIs of the answer. " +
    "`static`: keys derived from `seed` and the content id with HKDF (development and tests). The seed and header values are never returned.",
  security,
  request: {
    params: z.object({ name: ClientName }),
    body: { required: true, content: { "application/json": { schema: KeyProvider.openapi({ example: { provider: "cpix", url: "https://keys.example.com/cpix", headers: { "x-api-key": "key-for-the-key-server" } } }) } } },
  },
  responses: {
    200: { description: "Stored (secrets masked)", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...adminErrors,
    ...bodyErrorResponses,
  },
});

const rotateSecretRoute = createRoute({
  method: "post",
  path: "/admin/clients/{name}/signing-secrets",
  summary: "Rotate the callback signing secret: the new one is returned once; old ones keep signing during the overlap",
  security,
  request: {
    params: z.object({ name: ClientName }),
    body: {
      required: false,
      content: { "application/json": { schema: z.object({ overlap_seconds: z.int().min(0).max(30 * 86_400).default(86_400) }) } },
    },
  },
  responses: {
    201: { description: "Rotated", content: { "application/json": { schema: z.object({ signing_secret: z.string() }) } } },
    ...adminErrors,
    ...bodyErrorResponses,
  },
});

/** The client's stored configuration text and what of it parses (404 for an unknown client). */
async function loadConfig(db: D1Database, name: string) {
  const text = await clientConfigText(db, name);
  if (text === null) throw new ApiError(404, "not_found", `Client '${name}' not found.`);
  return { text, config: parseClientConfig(text) };
}


/** Operator API: client configuration and callback signing secrets. */
export const adminConfigRoutes = newRouter()
  .openapi(getClientRoute, async (c) => {
    const { name } = c.req.valid("param");
    const { config } = await loadConfig(c.env.DB, name);
    return c.json({ client: name, keys: await clientKeys(c.env.DB, name), config: redactedConfig(config) as Record<string, unknown> }, 200);
  })
  .openapi(putConfigRoute, async (c) => {
    const { name } = c.req.valid("param");
    const { callback_rules } = c.req.valid("json");
    const { text, config } = await loadConfig(c.env.DB, name);
    await putClientConfigText(c.env.DB, name, withSections(text, { callback_rules }));
    forgetClient(name);
    return c.json(redactedConfig({ ...config, callback_rules }) as Record<string, unknown>, 200);
  })
  .openapi(putPoolsRoute, async (c) => {
    const { name } = c.req.valid("param");
    const { pools } = c.req.valid("json");
    const { text, config } = await loadConfig(c.env.DB, name);
    await putClientConfigText(c.env.DB, name, withSections(text, { pools }));
    forgetClient(name);
    return c.json(redactedConfig({ ...config, pools }) as Record<string, unknown>, 200);
  })
  .openapi(putDrmRoute, async (c) => {
    const { name } = c.req.valid("param");
    const drm = c.req.valid("json");
    if (drm.provider === "cpix") {
      const problem = keyServerUrlProblem(drm.url, engineConfig(c.env).allowPrivateCallbacks);
      if (problem) throw new ApiError(400, "validation_failed", `url: ${problem}`, [{ path: "url", message: problem }]);
    }
    const { text } = await loadConfig(c.env.DB, name);
    await putClientConfigText(c.env.DB, name, withSections(text, { drm }));
    forgetClient(name);
    return c.json(redactedKeyProvider(drm), 200);
  })
  .openapi(rotateSecretRoute, async (c) => {
    const { name } = c.req.valid("param");
    const overlap = c.req.header("content-type") ? c.req.valid("json").overlap_seconds : 86_400;
    const { text, config } = await loadConfig(c.env.DB, name);
    const now = Date.now();
    const until = new Date(now + overlap * 1000).toISOString();
    const secret = newSigningSecret();
    const kept = config.signing_secrets
      .filter((entry) => entry.expires_at === null || Date.parse(entry.expires_at) > now)
      .map((entry) => ({ secret: entry.secret, expires_at: entry.expires_at !== null && entry.expires_at < until ? entry.expires_at : until }));
    const signing_secrets = [{ secret, expires_at: null }, ...kept].slice(0, 5);
    await putClientConfigText(c.env.DB, name, withSections(text, { signing_secrets }));
    forgetClient(name);
    return c.json({ signing_secret: secret }, 201);
  });
