import { NonRetryableError } from "../domain/errors";
import type { Executor } from "./executor";

export interface ListFolderInput {
  storage: string;
  root_key: string;
  folder: string;
}

export interface ListFolderOutput {
  /** The folder's prefix (root/folder/). */
  prefix: string;
  keys: string[];
}

/** Lists every object under a folder; a folder with nothing in it fails the job (the content id was wrong). */
export const listFolder: Executor = async (input, ctx): Promise<ListFolderOutput> => {
  const { storage, root_key, folder } = input as ListFolderInput;
  const root = (await ctx.storage(storage)).root(root_key);
  const prefix = root.folder(folder);
  const keys: string[] = [];
  for await (const object of root.list(folder)) keys.push(object.key);
  if (keys.length === 0) throw new NonRetryableError(`folder '${folder}' does not exist in storage '${storage}' (nothing under '${prefix}')`);
  ctx.log(`${keys.length} objects under ${prefix}`);
  return { prefix, keys };
};

export interface DeleteKeysInput {
  storage: string;
  root_key: string;
  folder: string;
  /** The keys list_folder found (full keys); each is checked to lie under the folder again. */
  keys: string[];
}

/** Objects deleted per step, between progress reports. */
const STEP = 1000;

/**
 * Deletes the listed keys of a folder, then anything that appeared under it since the listing.
 * Deleting a key twice is harmless, so a retried attempt reports the same keys.
 */
export const deleteKeys: Executor = async (input, ctx): Promise<{ deleted: string[] }> => {
  const { storage, root_key, folder, keys } = input as DeleteKeysInput;
  const root = (await ctx.storage(storage)).root(root_key);
  for (let i = 0; i < keys.length; i += STEP) {
    ctx.signal.throwIfAborted();
    await root.deleteListed(folder, keys.slice(i, i + STEP));
    ctx.progress(((i + STEP) / keys.length) * 100);
  }
  const listed = new Set(keys);
  const late = (await root.deleteFolder(folder)).filter((key) => !listed.has(key));
  return { deleted: [...keys, ...late] };
};
