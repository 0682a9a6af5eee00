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
}

/**
 * Copies a media task's files from the job's work folder (the engine's own bucket) into the client's
 * storage, `<root>/<folder>/<name>`, then empties the work folder. Copying again after a retry writes the
 * same bytes; a file gone from the work folder (already published and cleaned) fails the task.
 */
export const publish: Executor = async (input, ctx): Promise<PublishOutput> => {
  const { storage, root_key, folder, files } = input as PublishInput;
  if (files.length === 0) throw new NonRetryableError("nothing to publish: the media task reported no files");
  const root = (await ctx.storage(storage)).root(root_key);
  const published: string[] = [];
  for (const file of files) {
    const stored = await ctx.work.get(file.path);
    if (!stored) throw new NonRetryableError(`work file '${file.path}' is missing`);
    if (stored.byteLength !== file.size) throw new NonRetryableError(`work file '${file.path}' has ${stored.byteLength} bytes, the worker reported ${file.size}`);
    const path = `${folder}/${file.name}`;
    await root.put(path, stored, { contentType: file.content_type });
    published.push(path);
    ctx.log(`published '${path}' (${file.size} bytes) to storage '${storage}'`);
  }
  await ctx.work.clear();
  return { published };
};
