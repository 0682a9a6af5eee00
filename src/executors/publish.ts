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
  files: WorkFile[];
}

export interface PublishOutput {
  /** Paths below the root, as published. */
  published: string[];
  /** The same files' full keys in the storage (what "full path" means in the reference's callbacks). */
  keys: string[];
}

/**
 * A file is copied through the Worker's memory (the storage drivers take whole bodies): larger ones are
 * refused with a message rather than running the isolate out of memory. Streaming copies come with the
 * packaging workflows, whose outputs are larger.
 */
export const MAX_PUBLISH_BYTES = 64 * 1024 * 1024;

/**
 * Copies a media task's files from the job's work folder (the engine's own bucket) into the client's
 * storage, `<root>/<folder>/<name>`. The work folder is left as it is: a retry copies the same bytes again,
 * and the coordinator empties it once the job has completed.
 */
export const publish: Executor = async (input, ctx): Promise<PublishOutput> => {
  const { storage, root_key, folder, files } = input as PublishInput;
  if (files.length === 0) throw new NonRetryableError("nothing to publish: the media task reported no files");
  const root = (await ctx.storage(storage)).root(root_key);
  const published: string[] = [];
  const keys: string[] = [];
  for (const file of files) {
    const stored = await ctx.work.get(file.path);
    if (!stored) throw new NonRetryableError(`work file '${file.path}' is missing`);
    if (stored.size !== file.size) throw new NonRetryableError(`work file '${file.path}' has ${stored.size} bytes, the worker reported ${file.size}`);
    if (stored.size > MAX_PUBLISH_BYTES) throw new NonRetryableError(`work file '${file.path}' has ${stored.size} bytes; publishing copies at most ${MAX_PUBLISH_BYTES / 1024 / 1024} MiB per file`);
    const path = `${folder}/${file.name}`;
    await root.put(path, await stored.bytes(), { contentType: file.content_type });
    published.push(path);
    keys.push(root.key(path));
    ctx.log(`published '${path}' (${file.size} bytes) to storage '${storage}'`);
  }
  return { published, keys };
};
