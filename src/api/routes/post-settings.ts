import { createRoute, z } from "@hono/zod-openapi";
import { clientSnapshot, putSetting } from "../../db/clients";
import { isSettingName, parseSetting, settingNames, type SettingName } from "../../domain/settings";
import { schedulerConfigOf } from "../../scheduler/scheduler-config";
import { schedulerFor } from "../../scheduler/stub";
import { ApiError } from "../errors";
import { newRouter } from "../router";
import { errorResponses, bodyErrorResponses } from "../schemas";
import { forgetClient } from "../client-cache";
import { forgetLease } from "../request-budget";

const SettingRequest = z
  .object({
    name: z.string().min(1).max(64).openapi({ example: "max_jobs" }),
    setting: z.union([z.string().max(1024), z.number()]).openapi({ example: "4" }),
  })
  .openapi("SettingRequest");

const ADMISSION_SETTINGS = new Set<SettingName>(["max_jobs", "priority_slots", "priority_threshold", "schedule_interval"]);

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
    ...bodyErrorResponses,
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
  const client = c.get("client");
  await putSetting(c.env.DB, client, name, text.trim(), new Date().toISOString());
  forgetClient(client);
  forgetLease(client);
  if (ADMISSION_SETTINGS.has(name)) {
    // Admission control applies new limits at once and fills any slots they free.
    const config = schedulerConfigOf(await clientSnapshot(c.env.DB, client));
    await schedulerFor(c.env.CLIENT_SCHEDULER, client).configure(config);
  }
  return c.json({ result: "ok" as const, message: `${name} setting created/updated` }, 200);
});
