import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { EngineError, type EngineClient, type Lease } from "./engine.ts";
import { PermanentError } from "./executors/executor.ts";
import { workerExecutors } from "./executors/registry.ts";
import { log } from "./log.ts";
import { ToolError } from "./tools.ts";

/** Why a lease's work was stopped before it ended. */
export class Stopped extends Error {}

/**
 * Runs one lease to its end: a scratch folder of its own, heartbeats every `heartbeat_s` (with progress;
 * `cancel` or a lost lease stops the work), the executor, every output checked by the executor (ffprobe)
 * before it is uploaded to the job's work folder, then the report. The scratch folder is removed however it
 * ends. `stop` aborts the work (the worker is shutting down): the attempt is reported failed, retryable.
 */
export async function runLease(engine: EngineClient, lease: Lease, scratchRoot: string, stop: AbortSignal): Promise<void> {
  // The lease id without its secret part: the id is a capability, and logs are not the place for one.
  const fields = { lease_id: lease.lease_id.split(".")[0], job_id: lease.job_id, task: lease.task, attempt: lease.attempt };
  const controller = new AbortController();
  const onStop = () => controller.abort(new Stopped("the worker is shutting down"));
  stop.addEventListener("abort", onStop, { once: true });
  let progress: { progress?: number; phase?: string } = {};
  const beat = setInterval(() => {
    engine.heartbeat(lease.lease_id, progress).then(
      (answer) => {
        if (answer.cancel) {
          log("lease.cancelled", fields);
          controller.abort(new Stopped("the engine cancelled the task"));
        }
      },
      (error: unknown) => {
        // A lease the engine no longer knows cannot be saved; a network error may pass before the deadline.
        if (error instanceof EngineError && (error.status === 404 || error.status === 409)) controller.abort(new Stopped(`the lease was lost (${error.message})`));
        else log("heartbeat.failed", { ...fields, error: String(error) });
      },
    );
  }, lease.heartbeat_s * 1000);
  const scratch = await mkdtemp(join(scratchRoot, `${lease.task}-`));
  log("lease.started", { ...fields, executor: lease.executor });
  try {
    const executor = workerExecutors.get(lease.executor);
    if (!executor) throw new PermanentError(`this worker has no executor '${lease.executor}'`);
    const result = await executor(lease.input, {
      attempt: lease.attempt,
      scratch,
      signal: controller.signal,
      progress: (percent, phase) => (progress = { progress: Math.round(Math.max(0, Math.min(100, percent))), ...(phase ? { phase } : {}) }),
    });
    const files = [];
    for (const file of result.files) {
      const path = `${lease.task}/${file.name}`;
      const { size } = await engine.upload(lease.lease_id, path, file.local, file.contentType);
      files.push({ path, name: file.name, content_type: file.contentType, size });
      log("file.uploaded", { ...fields, path, size });
    }
    await engine.complete(lease.lease_id, { ...result.output, files });
    log("lease.completed", fields);
  } catch (error) {
    const reason = controller.signal.aborted ? controller.signal.reason : error;
    const message = reason instanceof Error ? reason.message : String(reason);
    if (reason instanceof Stopped && !stop.aborted) {
      log("lease.stopped", { ...fields, reason: message });
    } else {
      const retryable = !(reason instanceof PermanentError) && !(reason instanceof ToolError && !reason.retryable);
      log("lease.failed", { ...fields, error: message, retryable });
      await engine.fail(lease.lease_id, message, retryable).catch((report: unknown) => log("report.failed", { ...fields, error: String(report) }));
    }
  } finally {
    clearInterval(beat);
    stop.removeEventListener("abort", onStop);
    await rm(scratch, { recursive: true, force: true });
  }
}
