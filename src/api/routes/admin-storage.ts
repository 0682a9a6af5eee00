import { createRoute, z } from "@hono/zod-openapi";
import { clientConfigText, putClientConfigText } from "../../db/clients";
import { parseClientConfig } from "../../domain/client-config";
import { redactedStorage, StorageConfig } from "../../domain/storage-config";
import { ApiError } from "../errors";
import { newRouter } from "../router";
import { adminErrors, ClientName, security } from "./admin-clients";

const putStorageRoute = createRoute({
  method: "put",
  path: "/admin/clients/{name}/storage",
  summary: "Set a client's storage: storage names (S3, azure_blob, local, R2) → driver, location, credentials and roots",
  description:
    "Replaces the whole storage section. Credentials (secret_access_key, session_token, sas_token) are never returned: " +
    "responses show them masked, so an update sends them again.",
  security,
  request: {
    params: z.object({ name: ClientName }),
    body: { required: true, content: { "application/json": { schema: StorageConfig } } },
  },
  responses: {
    200: { description: "Stored (credentials masked)", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...adminErrors,
  },
});

/** Operator API: where a client's files are (workflows.md, Storage). */
export const adminStorageRoutes = newRouter().openapi(putStorageRoute, async (c) => {
  const { name } = c.req.valid("param");
  const storage = c.req.valid("json");
  const text = await clientConfigText(c.env.DB, name);
  if (text === null) throw new ApiError(404, "not_found", `Client '${name}' not found.`);
  await putClientConfigText(c.env.DB, name, JSON.stringify({ ...parseClientConfig(text), storage }));
  return c.json(redactedStorage(storage) as Record<string, unknown>, 200);
});
