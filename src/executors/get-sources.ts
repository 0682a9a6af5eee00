import { NonRetryableError } from "../domain/errors";
import { fileNameProblem } from "../storage/paths";
import type { Executor } from "./executor";

export interface GetSourcesInput {
  storage: string;
  root_key: string;
  folder: string;
  /** File names that are outputs of this workflow, not sources (an earlier run into the same folder). */
  exclude?: string[];
}

export interface GetSourcesOutput {
  /** Media files of the folder, relative to it, in key order. */
  sources: { path: string; size: number }[];
}

/** What a media source file can be, by extension (reference §3.1: mp4, mov, mpg, mkv, avi, m4v; and TS). */
const MEDIA = /\.(mp4|m4v|mov|mkv|ts|mpg|mpeg|avi|ismv|isma)$/i;

/**
 * Lists a source folder's media files (its own files: not its subfolders, where packages of earlier runs live)
 * for a remote task to read through its lease's `source` root. A folder without any fails the job early,
 * naming the folder (reference 2.0.0: "the job fails early if no sources").
 */
export const getSources: Executor = async (input, ctx): Promise<GetSourcesOutput> => {
  const { storage, root_key, folder, exclude = [] } = input as GetSourcesInput;
  const root = (await ctx.storage(storage)).root(root_key);
  const prefix = root.folder(folder);
  const sources: GetSourcesOutput["sources"] = [];
  for await (const object of root.list(folder)) {
    const path = object.key.slice(prefix.length);
    if (path.includes("/") || !MEDIA.test(path) || exclude.includes(path)) continue;
    // A name the file API would refuse cannot be read by the worker: it is named here instead.
    const problem = fileNameProblem(path);
    if (problem) throw new NonRetryableError(`source file ${JSON.stringify(path.slice(0, 200))} ${problem}`);
    sources.push({ path, size: object.size });
  }
  if (sources.length === 0) throw new NonRetryableError(`no sources found in folder '${folder}' of storage '${storage}' (media files: mp4, m4v, mov, mkv, ts, mpg, avi)`);
  ctx.log(`${sources.length} source files under ${prefix}`);
  return { sources };
};
