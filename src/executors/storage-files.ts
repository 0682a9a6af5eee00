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
  const root = (await ctx.storage(storage)).root(root_key);
  const exists = new Map<string, boolean>();
  await forEachLimit(files, 16, async (file) => {
    exists.set(file, (await root.head(file)) !== null);
  });
  const present = files.filter((file) => exists.get(file));
  await root.delete(present);
  const missing = files.filter((file) => !exists.get(file));
  const log = missing.map((file) => `file '${file}' does not exist in storage '${storage}': nothing to delete`);
  for (const line of log) ctx.log(line);
  return { deleted: present.map((file) => root.key(file)), missing, log };
};
