import { listKeys } from "../storage/driver";
import { NonRetryableError } from "./errors";
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
  const location = await ctx.storage(storage);
  const prefix = location.folder(root_key, folder);
  const keys = await listKeys(location.driver, prefix);
  if (keys.length === 0) throw new NonRetryableError(`folder '${folder}' does not exist in storage '${storage}' (nothing under '${prefix}')`);
  ctx.log(`${keys.length} objects under ${prefix}`);
  return { prefix, keys };
};

export interface DeleteKeysInput {
  storage: string;
  prefix: string;
  keys: string[];
}

/** Objects deleted per step, between progress reports. */
const STEP = 1000;

/**
 * Deletes the listed keys of a folder, then anything that appeared under it since the listing.
 * Deleting a key twice is harmless, so a retried attempt reports the same keys.
 */
export const deleteKeys: Executor = async (input, ctx): Promise<{ deleted: string[] }> => {
  const { storage, prefix, keys } = input as DeleteKeysInput;
  const location = await ctx.storage(storage);
  const outside = keys.find((key) => !key.startsWith(prefix));
  if (outside !== undefined) throw new NonRetryableError(`key '${outside}' is not under '${prefix}'`);
  for (let i = 0; i < keys.length; i += STEP) {
    ctx.signal.throwIfAborted();
    await location.driver.delete(keys.slice(i, i + STEP));
    ctx.progress(((i + STEP) / keys.length) * 100);
  }
  const listed = new Set(keys);
  const late = (await location.driver.deletePrefix(prefix)).filter((key) => !listed.has(key));
  return { deleted: [...keys, ...late] };
};
