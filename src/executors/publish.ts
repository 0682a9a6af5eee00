import { NonRetryableError } from "../domain/errors";
import type { Executor } from "./executor";

/** A file a remote worker left in the job's work folder, and the name it is published under. */
export interface WorkFile {
  /** Its path in the work folder. */
  path: string;
  /** Its file name in the output folder. */
  name: string;
  content_type: string;
  size: number;
}

export interface PublishInput {
  storage: string;
  root_key: string;
  folder: string;
  /** The media attempt's folder in the job's work folder. */
  work_folder: string;
  /**
   * The files the worker reported (paths relative to `work_folder`); absent: every file of the folder (a
   * package of thousands of segments is not listed in a report).
   */
  files?: WorkFile[];
}

export interface PublishOutput {
  /** Paths below the root, as published (a package's segments are counted, not listed). */
  published: string[];
  /** The same files' full keys in the storage (what "full path" means in the reference's callbacks). */
  keys: string[];
  /** How many files were published in all. */
  count: number;
}

/**
 * A file is copied through the Worker's memory (the storage drivers take whole bodies): larger ones are
 * refused with a message rather than running the isolate out of memory. Streaming copies come with the
 * packaging workflows' larger outputs.
 */
export const MAX_PUBLISH_BYTES = 64 * 1024 * 1024;

/**
 * Copies a media task's files from its attempt's folder of the job's work folder (the engine's own bucket)
 * into the client's storage, `<root>/<folder>/<name>`: the deepest first, the top-level manifests last, so
 * that an active manifest never points at a package that is not all there. The work folder is left as it is:
 * a retry copies the same bytes again, and the coordinator empties it once the job has completed.
 */
export const publish: Executor = async (input, ctx): Promise<PublishOutput> => {
  const { storage, root_key, folder, work_folder } = input as PublishInput;
  // Unlisted files keep the content type the worker uploaded them with.
  const files = (input as PublishInput).files ?? (await ctx.work.list(work_folder)).map((file) => ({ path: file.path, name: file.path, content_type: null, size: file.size }));
  if (files.length === 0) throw new NonRetryableError("nothing to publish: the media task left no files");
  const root = (await ctx.storage(storage)).root(root_key);
  const published: string[] = [];
  const keys: string[] = [];
  for (const file of [...files].sort(publishOrder)) {
    const from = `${work_folder}/${file.path}`;
    const stored = await ctx.work.get(from);
    if (!stored) throw new NonRetryableError(`work file '${from}' is missing`);
    if (stored.size !== file.size) throw new NonRetryableError(`work file '${from}' has ${stored.size} bytes, the worker reported ${file.size}`);
    if (stored.size > MAX_PUBLISH_BYTES) throw new NonRetryableError(`work file '${from}' has ${stored.size} bytes; publishing copies at most ${MAX_PUBLISH_BYTES / 1024 / 1024} MiB per file`);
    const path = `${folder}/${file.name}`;
    await root.put(path, await stored.bytes(), { contentType: file.content_type ?? stored.contentType ?? "application/octet-stream" });
    // Manifests, playlists and images are listed; a package's segments (in its tracks' folders) are counted.
    if (file.name.split("/").length <= 2 || /\.(m3u8|mpd)$/.test(file.name)) {
      published.push(path);
      keys.push(root.key(path));
    }
  }
  ctx.log(`published ${files.length} files to '${folder}' of storage '${storage}'`);
  return { published, keys, count: files.length };
};

/** Deeper files first; among the top-level ones, manifests last. */
function publishOrder(a: { name: string }, b: { name: string }): number {
  const depth = (name: string) => name.split("/").length;
  const manifest = (name: string) => (depth(name) === 1 && /\.(m3u8|mpd)$/.test(name) ? 1 : 0);
  return depth(b.name) - depth(a.name) || manifest(a.name) - manifest(b.name) || a.name.localeCompare(b.name);
}
