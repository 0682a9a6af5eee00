import { engineConfig } from "../config";
import type { AppEnv } from "./app-env";
import { ApiError, clip, handleError } from "./errors";
import { adminAuth } from "./middleware/admin-auth";
import { blockedAddresses } from "./middleware/blocked-addresses";
import { clientAuth } from "./middleware/auth";
import { jsonBody } from "./middleware/json-body";
import { requestCost } from "./middleware/request-cost";
import { requestId } from "./middleware/request-id";
import { newRouter } from "./router";
import { adminClientRoutes } from "./routes/admin-clients";
import { adminConfigRoutes } from "./routes/admin-config";
import { adminStorageRoutes } from "./routes/admin-storage";
import { getJobRoutes } from "./routes/get-job";
import { getLogsRoutes } from "./routes/get-logs";
import { jobCallbackRoutes } from "./routes/job-callbacks";
import { listJobsRoutes } from "./routes/list-jobs";
import { manageJobRoutes } from "./routes/manage-job";
import { operationsRoutes } from "./routes/operations";
import { postSettingsRoutes } from "./routes/post-settings";
import { rootRoutes } from "./routes/root";
import { submitJobRoutes } from "./routes/submit-job";
import { workflowRoutes } from "./routes/workflows";
import { adminPoolRoutes } from "./routes/admin-pools";
import { adminDeadLetterRoutes } from "./routes/admin-dead-letters";
import { workerFileDocs, workerFileRoutes } from "./routes/worker-files";
import { workerLeaseRoutes } from "./routes/worker-leases";
import { workerAuth } from "./middleware/worker-auth";
import { finishDocument } from "./openapi-document";
import { pageRoutes } from "./routes/pages";

/** The HTTP API: one router per resource behind request id, body and auth middleware. */
export function createApp() {
  const app = newRouter();
  app.use("*", requestId());
  app.use("*", requestCost());
  app.use("*", async function engineConfigMiddleware(c, next) {
    c.set("config", engineConfig(c.env));
    return next();
  });
  app.use("*", blockedAddresses());
  app.use("*", jsonBody());
  app.use("*", clientAuth());
  app.use("/admin/*", adminAuth());
  app.use("/workers/*", workerAuth());
  app.route("/", rootRoutes);
  app.route("/", submitJobRoutes);
  app.route("/", listJobsRoutes);
  app.route("/", getJobRoutes);
  app.route("/", manageJobRoutes);
  app.route("/", getLogsRoutes);
  app.route("/", jobCallbackRoutes);
  app.route("/", postSettingsRoutes);
  app.route("/", operationsRoutes);
  app.route("/", workflowRoutes);
  app.route("/", adminClientRoutes);
  app.route("/", adminConfigRoutes);
  app.route("/", adminStorageRoutes);
  app.route("/", adminPoolRoutes);
  app.route("/", adminDeadLetterRoutes);
  app.route("/", workerLeaseRoutes);
  app.route("/", workerFileRoutes);
  for (const route of workerFileDocs) app.openAPIRegistry.registerPath(route);
  app.openAPIRegistry.registerComponent("securitySchemes", "adminBearer", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "workerBearer", { type: "http", scheme: "bearer", description: "A pool token (wkr_…) from POST /admin/pools/{pool}/tokens" });
  // Client routes need both headers: one security requirement naming two schemes.
  app.openAPIRegistry.registerComponent("securitySchemes", "clientName", { type: "apiKey", in: "header", name: "client" });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "apiKey", in: "header", name: "api-key" });
  app.get("/openapi.json", (c) => {
    const document = app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "Task Engine API",
        version: engineConfig(c.env).version,
        description: "Jobs, workflows and callbacks; compatible with the Vualto / JW Player Task Engine API.",
        license: { name: "MIT", url: "https://opensource.org/license/mit" },
      },
      security: [{ clientName: [], apiKey: [] }],
    });
    return c.json(finishDocument(document, new URL(c.req.url).origin));
  });
  app.route("/", pageRoutes);
  app.notFound((c) => {
    throw new ApiError(404, "not_found", `No route for ${clip(c.req.method, 20)} ${clip(c.req.path)}.`);
  });
  app.onError(handleError);
  return app;
}

export type App = ReturnType<typeof createApp>;
export type { AppEnv };
