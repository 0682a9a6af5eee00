import { createRoute, z } from "@hono/zod-openapi";
import { putSetting } from "../../db/clients";
import { isSettingName, parseSetting, settingNames } from "../../domain/settings";
import { ApiError } from "../errors";
import { newRouter } from "../router";
import { errorResponses } from "../schemas";

const SettingRequest = z
  .object({
    name: z.string().min(1).max(64).openapi({ example: "max_jobs" }),
    setting: z.union([z.string().max(1024), z.number()]).openapi({ example: "4" }),
  })
  .openapi("SettingRequest");

const postSettings = createRoute({
  method: "post",
  path: "/settings",
  summary: "Create or update one of the client's settings",
  request: { body: { required: true, content: { "application/json": { schema: SettingRequest } } } },
  responses: {
    200: {
      description: "Stored",
      content: { "application/json": { schema: z.object({ result: z.literal("ok"), message: z.string() }) } },
    },
    ...errorResponses,
  },
});

export const postSettingsRoutes = newRouter().openapi(postSettings, async (c) => {
  const { name, setting } = c.req.valid("json");
  if (!isSettingName(name)) {
    throw new ApiError(400, "validation_failed", `Unknown setting '${name}'. Known settings: ${settingNames().join(", ")}.`, [
      { path: "name", message: `must be one of: ${settingNames().join(", ")}` },
    ]);
  }
  const text = String(setting);
  const parsed = parseSetting(name, text);
  if ("error" in parsed) throw new ApiError(400, "validation_failed", parsed.error, [{ path: "setting", message: parsed.error }]);
  await putSetting(c.env.DB, c.get("client"), name, text.trim(), new Date().toISOString());
  return c.json({ result: "ok" as const, message: `${name} setting created/updated` }, 200);
});
