import { forEachLimit } from "../storage/driver";
import type { Executor } from "./executor";

export interface DeleteFilesInput {
  storage: string;
  root_key: string;
  /** Paths below the root, as submitted. */
  files: string[];
}

export interface DeleteFilesOutput {
  /** Full keys deleted. */
  deleted: string[];
  /** Paths (as submitted) that did not exist: reported, not a failure. */
  missing: string[];
  /** Lines meant for the job log. */
  log: string[];
}

/** Deletes individual files; files that do not exist are reported, not an error. */
export const deleteFiles: Executor = async (input, ctx): Promise<DeleteFilesOutput> => {
  const { storage, root_key, files } = input as DeleteFilesInput;
  const location = await ctx.storage(storage);
  const keys = files.map((file) => location.key(root_key, file));
  const exists = new Map<string, boolean>();
  await forEachLimit(keys, 16, async (key) => {
    exists.set(key, (await location.driver.head(key)) !== null);
  });
  const deleted = keys.filter((key) => exists.get(key));
  await location.driver.delete(deleted);
  const missing = files.filter((_, index) => !exists.get(keys[index]!));
  const log = missing.map((file) => `file '${file}' does not exist in storage '${storage}': nothing to delete`);
  for (const line of log) ctx.log(line);
  return { deleted, missing, log };
};
