import { createApp } from "./api/app";
import { engineConfig } from "./config";
import { coordinatorFor } from "./coordinator/stub";
import { clientConfigText } from "./db/clients";
import { boundShards, indexDatabase } from "./db/index-shards";
import { consumeCallbacks } from "./queues/callback-consumer";
import { callbackHeaders } from "./queues/callback-headers";
import { consumeDeadLetters } from "./queues/dead-letter-consumer";
import type { CallbackMessage, TaskMessage } from "./queues/messages";
import { consumeTasks } from "./queues/task-consumer";
import { runSchedules } from "./schedules";
import { storageResolver } from "./storage/resolve";
import { drmAccess } from "./executors/drm-access";
import { once } from "./domain/once";
import { workFolder } from "./storage/work-folder";

export { ClientRateLimiter } from "./api/rate-limiter";
export { JobCoordinator } from "./coordinator/job-coordinator";
export { ClientScheduler } from "./scheduler/client-scheduler";
export { WorkerPool } from "./pool/worker-pool";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),

  async queue(batch, env, ctx) {
    const coordinator = (jobId: string) => coordinatorFor(env.JOB_COORDINATOR, jobId);
    if (batch.queue.endsWith("-dlq")) return consumeDeadLetters(batch, env.DB, boundShards(env).map((shard) => indexDatabase(env, shard)));
    if (batch.queue.endsWith("-tasks")) {
      // Each client's configuration is read once per batch, for its storage and its key provider.
      const configText = once((client: string) => clientConfigText(env.DB, client));
      const storage = storageResolver(configText, { r2: { MEDIA: env.MEDIA }, fetch: (input, init) => fetch(input, init) });
      const config = engineConfig(env);
      const handoff = config.taskBatchBudgetMs === null ? undefined : { budgetMs: config.taskBatchBudgetMs, waitUntil: (promise: Promise<unknown>) => ctx.waitUntil(promise) };
      const drm = drmAccess(configText, env.DRM_KEY_SECRET, config.allowPrivateCallbacks);
      return consumeTasks(batch as MessageBatch<TaskMessage>, { coordinator, storage, handoff, drm, work: (jobId) => workFolder(env.MEDIA, jobId) });
    }
    if (batch.queue.endsWith("-callbacks")) {
      const config = engineConfig(env);
      return consumeCallbacks(batch as MessageBatch<CallbackMessage>, {
        coordinator,
        fetch: (input, init) => fetch(input, init),
        version: config.version,
        timeoutMs: config.callbackTimeoutMs,
        headersFor: callbackHeaders(env.DB),
        waitUntil: (promise) => ctx.waitUntil(promise),
      });
    }
    console.error(JSON.stringify({ level: "error", message: "message from an unknown queue", queue: batch.queue }));
    batch.retryAll();
  },

  async scheduled(controller, env) {
    await runSchedules(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env, unknown>;
