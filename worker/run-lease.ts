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
  let beat: ReturnType<typeof setInterval> | undefined;
  let scratch: string | undefined;
  log("lease.started", { ...fields, executor: lease.executor });
  try {
    scratch = await mkdtemp(join(scratchRoot, `${lease.task}-`));
    beat = setInterval(() => {
      engine.heartbeat(lease.lease_id, progress).then(
        (answer) => {
          if (answer.cancel && !controller.signal.aborted) {
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
    const executor = workerExecutors.get(lease.executor);
    if (!executor) throw new PermanentError(`this worker has no executor '${lease.executor}'`);
    const result = await executor(lease.input, {
      attempt: lease.attempt,
      scratch,
      signal: controller.signal,
      progress: (percent, phase) => (progress = { progress: Math.round(Math.max(0, Math.min(100, percent))), ...(phase ? { phase } : {}) }),
      download: (path, local) => engine.download(lease.lease_id, "source", path, local, controller.signal),
    });
    // Paths are relative to the lease's `output` root: this attempt's own folder of the job's work folder.
    const files = [];
    for (const file of result.files) {
      controller.signal.throwIfAborted();
      const { size } = await engine.upload(lease.lease_id, file.name, file.local, file.contentType);
      files.push({ path: file.name, name: file.name, content_type: file.contentType, size });
      log("file.uploaded", { ...fields, path: file.name, size });
    }
    controller.signal.throwIfAborted();
    await reportCompleted(engine, lease, result.listFiles === false ? { ...result.output, file_count: files.length } : { ...result.output, files }, controller.signal);
    log("lease.completed", fields);
  } catch (error) {
    const reason = controller.signal.aborted ? controller.signal.reason : error;
    const message = reason instanceof Error ? reason.message : String(reason);
    if (reason instanceof Stopped && !stop.aborted) {
      log("lease.stopped", { ...fields, reason: message });
    } else {
      // The engine refusing a file call (400, 403, 404: a source gone, a name it will not take) will refuse again.
      const refused = reason instanceof EngineError && reason.status >= 400 && reason.status < 500;
      const retryable = !refused && !(reason instanceof PermanentError) && !(reason instanceof ToolError && !reason.retryable);
      log("lease.failed", { ...fields, error: message, retryable });
      await engine.fail(lease.lease_id, message, retryable).catch((report: unknown) => log("report.failed", { ...fields, error: String(report) }));
    }
  } finally {
    clearInterval(beat);
    stop.removeEventListener("abort", onStop);
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Reports the attempt done. `complete` may be repeated (the engine answers a repeat as the first), so a
 * network error or a 5xx is tried again, with backoff, for up to two minutes; a 4xx (the attempt ended
 * meanwhile: 404, 409) is final.
 */
async function reportCompleted(engine: EngineClient, lease: Lease, output: unknown, signal: AbortSignal): Promise<void> {
  // The heartbeats go on meanwhile, so the lease outlives a short outage; two minutes is the limit.
  const deadline = Date.now() + 120_000;
  for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
    try {
      return await engine.complete(lease.lease_id, output);
    } catch (error) {
      const final = error instanceof EngineError && error.status >= 400 && error.status < 500;
      if (final || signal.aborted || Date.now() + wait > deadline) throw error;
      log("report.retry", { job_id: lease.job_id, task: lease.task, attempt: lease.attempt, error: String(error), retry_in_ms: wait });
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
