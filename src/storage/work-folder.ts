import type { WorkFolder } from "../executors/executor";
import { pathProblem } from "./paths";

/**
 * A job's work folder in the engine's own bucket (MEDIA): where remote workers upload what they make (the
 * `output` root of a lease's file API) and where the job's `publish` task copies it from, to the client's
 * storage. Kept apart from every client's storage roots, named by the job, removed when published.
 */
export function workPrefix(jobId: string): string {
  return `work/${jobId}/`;
}

/**
 * The folder of one remote attempt inside the job's work folder: a lease's `output` root. Each attempt has its
 * own, so an upload of a lease that has ended cannot overwrite what a later attempt made.
 */
export function attemptFolder(task: string, attempt: number): string {
  return `${task}/${attempt}`;
}

/** The key of `path` in the job's work folder; throws on an unsafe path (the file API checks first). */
export function workKey(jobId: string, path: string): string {
  const problem = pathProblem(path);
  if (problem) throw new Error(`work file path ${problem}`);
  return `${workPrefix(jobId)}${path}`;
}

/** The work folder of one job in a bucket, as executors get it. */
export function workFolder(bucket: R2Bucket, jobId: string): WorkFolder {
  return {
    async get(path) {
      const object = await bucket.get(workKey(jobId, path));
      return object ? { size: object.size, contentType: object.httpMetadata?.contentType ?? null, bytes: () => object.arrayBuffer() } : null;
    },
    async list(folder) {
      const prefix = `${workKey(jobId, folder)}/`;
      const files: { path: string; size: number }[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix, cursor, limit: 1000 });
        for (const object of page.objects) files.push({ path: object.key.slice(prefix.length), size: object.size });
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return files;
    },
    async clear() {
      for (;;) {
        const page = await bucket.list({ prefix: workPrefix(jobId), limit: 1000 });
        if (page.objects.length === 0) return;
        await bucket.delete(page.objects.map((object) => object.key));
      }
    },
  };
}
