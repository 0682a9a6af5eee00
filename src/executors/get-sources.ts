import { NonRetryableError } from "../domain/errors";
import { parseManifestName } from "../domain/drm-manifests";
import { fileNameProblem } from "../storage/paths";
import type { Executor } from "./executor";

export interface GetSourcesInput {
  storage: string;
  root_key: string;
  folder: string;
  /** File names that are outputs of this workflow, not sources (an earlier run into the same folder). */
  exclude?: string[];
  /** A folder without media files may be a VOD package (vodstream's output): its clear package is the source. */
  packages?: boolean;
}

export interface GetSourcesOutput {
  /** Media files of the folder, relative to it, in key order. */
  sources: { path: string; size: number }[];
  /** The folder's clear VOD package, when it has no media files: its active root playlist and every file it needs. */
  package?: { manifest: string; files: { path: string; size: number }[] };
}

/** A package of more files than this is not read through a lease file by file. */
const MAX_PACKAGE_FILES = 20_000;
/** Files below a folder's subfolders kept while looking for its package (every package of the folder counts). */
const MAX_LISTED_FILES = 200_000;

/** What a media source file can be, by extension (reference §3.1: mp4, mov, mpg, mkv, avi, m4v; TS; m4a audio files). */
const MEDIA = /\.(mp4|m4v|m4a|mov|mkv|ts|mpg|mpeg|avi|ismv|isma)$/i;

/**
 * Lists a source folder's media files (its own files: not its subfolders, where packages of earlier runs live)
 * for a remote task to read through its lease's `source` root. A folder without any fails the job early,
 * naming the folder (reference 2.0.0: "the job fails early if no sources").
 */
export const getSources: Executor = async (input, ctx): Promise<GetSourcesOutput> => {
  const { storage, root_key, folder, exclude = [], packages = false } = input as GetSourcesInput;
  const root = (await ctx.storage(storage)).root(root_key);
  const prefix = root.folder(folder);
  const sources: GetSourcesOutput["sources"] = [];
  const nested: GetSourcesOutput["sources"] = [];
  const manifests: string[] = [];
  for await (const object of root.list(folder)) {
    const path = object.key.slice(prefix.length);
    if (path.includes("/")) {
      if (packages && nested.length < MAX_LISTED_FILES) nested.push({ path, size: object.size });
      continue;
    }
    if (packages && parseManifestName(path)?.format === "m3u8") manifests.push(path);
    if (!MEDIA.test(path) || exclude.includes(path)) continue;
    // A name the file API would refuse cannot be read by the worker: it is named here instead.
    const problem = fileNameProblem(path);
    if (problem) throw new NonRetryableError(`source file ${JSON.stringify(path.slice(0, 200))} ${problem}`);
    sources.push({ path, size: object.size });
  }
  if (sources.length === 0 && manifests.length > 0) return { sources, package: vodPackage(folder, manifests, nested) };
  if (sources.length === 0) throw new NonRetryableError(`no sources found in folder '${folder}' of storage '${storage}' (media files: mp4, m4v, mov, mkv, ts, mpg, avi${packages ? "; or a VOD package made by vodstream" : ""})`);
  ctx.log(`${sources.length} source files under ${prefix}`);
  return { sources };
};

/** The folder's active clear package: its root playlist and the files of the package folder it points into. */
function vodPackage(folder: string, manifests: string[], nested: GetSourcesOutput["sources"]): NonNullable<GetSourcesOutput["package"]> {
  const clear = manifests.filter((name) => parseManifestName(name)?.state === "active" && parseManifestName(name)?.kind === "clear");
  if (clear.length === 0) {
    const drm = manifests.find((name) => parseManifestName(name)?.state === "active");
    throw new NonRetryableError(drm ? `the VOD package in '${folder}' is protected (${drm} is active): only a clear package can be read; switch it with drmswitch first` : `the VOD package in '${folder}' has no active clear playlist (<content_id>_nodrm_<guid>.m3u8)`);
  }
  if (clear.length > 1) throw new NonRetryableError(`several active clear playlists in '${folder}': ${clear.join(", ")}`);
  const manifest = clear[0]!;
  const files = nested.filter((file) => file.path.startsWith(`${manifest.slice(0, -".m3u8".length)}/`));
  if (files.length === 0) throw new NonRetryableError(`the package folder of ${manifest} in '${folder}' is empty`);
  if (files.length > MAX_PACKAGE_FILES) throw new NonRetryableError(`the package of ${manifest} has more than ${MAX_PACKAGE_FILES} files`);
  return { manifest, files };
}
