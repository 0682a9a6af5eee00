import { createRoute, z } from "@hono/zod-openapi";
import { clientConfigText, otherClientConfigs, putClientConfigText } from "../../db/clients";
import { parseClientConfig, withSections } from "../../domain/client-config";
import { redactedStorage, StorageConfig } from "../../domain/storage-config";
import { rootOverlaps } from "../../domain/storage-overlap";
import { ApiError } from "../errors";
import { newRouter } from "../router";
import { ErrorBody, bodyErrorResponses } from "../schemas";
import { adminErrors, ClientName, security } from "./admin-clients";
import { forgetClient } from "../client-cache";

const putStorageRoute = createRoute({
  method: "put",
  path: "/admin/clients/{name}/storage",
  summary: "Set a client's storage: storage names (S3, azure_blob, local, R2) → driver, location, credentials and roots",
  description:
    "Replaces the whole storage section. Credentials (secret_access_key, session_token, sas_token) are never returned: " +
    "responses show them masked, so an update sends them again. A client reaches only keys under its configured roots; " +
    "a root that overlaps another client's on the same bucket is refused (409) unless both locations are marked shared.",
  security,
  request: {
    params: z.object({ name: ClientName }),
    body: { required: true, content: { "application/json": { schema: StorageConfig } } },
  },
  responses: {
    200: { description: "Stored (credentials masked)", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...adminErrors,
    ...bodyErrorResponses,
    409: { description: "A root overlaps another client's on the same bucket", content: { "application/json": { schema: ErrorBody } } },
  },
});

/** Operator API: where a client's files are (workflows.md, Storage). */
export const adminStorageRoutes = newRouter().openapi(putStorageRoute, async (c) => {
  const { name } = c.req.valid("param");
  const storage = c.req.valid("json");
  const text = await clientConfigText(c.env.DB, name);
  if (text === null) throw new ApiError(404, "not_found", `Client '${name}' not found.`);
  const others = (await otherClientConfigs(c.env.DB, name)).map((row) => ({ client: row.name, config: parseClientConfig(row.config).storage }));
  const overlaps = rootOverlaps(name, storage, others);
  if (overlaps.length > 0) throw new ApiError(409, "conflict", `${overlaps[0]!.path}: ${overlaps[0]!.message}`, overlaps);
  await putClientConfigText(c.env.DB, name, withSections(text, { storage }));
  forgetClient(name);
  return c.json(redactedStorage(storage) as Record<string, unknown>, 200);
});
