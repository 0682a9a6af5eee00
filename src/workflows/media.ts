import { z } from "zod";
import { DEFAULT_ROOT_KEY, INPUT_ROOT_KEY } from "../domain/storage-config";
import type { GetDrmKeysInput } from "../executors/get-drm-keys";
import type { GetSourcesInput } from "../executors/get-sources";
import type { ParkEarlierInput } from "../executors/drm-switch";
import type { PublishInput, PublishOutput, WorkFile } from "../executors/publish";
import { fileNameProblem } from "../storage/paths";
import { commonParameters, ContentId, StorageFolder, StorageParameter } from "./common";
import type { FileRoot, TaskDefinition } from "./definition";

/** What the media workflows share (media.md): a source URL, times, output names, the publish step. */

/** The pool media tasks run on (a client may map it to its own: workers.md). */
export const MEDIA_POOL = "media";

/** `source`: an HLS, DASH or progressive MP4 URL the worker fetches itself (checked like a callback URL at submission). */
export const SourceUrl = z.string().min(1, "source must not be empty").max(2048, "source may be at most 2048 characters");

/**
 * A time offset into the source: seconds (`7.04`), `hh:mm:ss(.fraction)` or `m:ss(.fraction)` as the reference
 * writes it (`00:00:07.0400000`, `1:34.000`). The reference also takes UTC times on live sources with program-date-time; that is
 * not supported yet and is refused with a message saying so.
 */
export const Offset = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const seconds = typeof value === "number" ? value : offsetSeconds(value);
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0 || seconds > 86_400 * 7) {
    const utc = typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value);
    ctx.addIssue({
      code: "custom",
      message: utc ? "UTC times (streams with program-date-time) are not supported yet: give an offset in seconds or hh:mm:ss.fff" : "must be an offset: seconds (7.04), hh:mm:ss.fff (00:00:07.040) or m:ss.fff (1:34.000)",
    });
    return z.NEVER;
  }
  return seconds;
});

export function offsetSeconds(text: string): number | null {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  // hh:mm:ss(.f) or m:ss(.f) (the reference writes both: "00:00:07.0400000", "1:34.000").
  const match = /^(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d(?:\.\d{1,7})?)$/.exec(text);
  return match ? Number(match[1] ?? 0) * 3600 + Number(match[2]) * 60 + Number(match[3]) : null;
}

/** One output file name (no folder), with one of the given extensions. */
export function outputFileName(extensions: string[]) {
  return z
    .string()
    .max(255)
    .superRefine((name, ctx) => {
      const problem = fileNameProblem(name);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
      else if (!extensions.some((extension) => name.toLowerCase().endsWith(extension))) ctx.addIssue({ code: "custom", message: `must end with ${extensions.join(", ")}` });
    });
}

/** The reference's trickplay set (§3.1, §3.14): tiles of JPEG frames for trick play. */
export const TrickplayParameters = {
  trickplay: z.boolean().default(false),
  /** Reference default `"{trickplay}"`; false asks only for sync samples, which CMAF segments have already. */
  trickplay_thumbnails: z.boolean().optional(),
  /** A tile's long edge in pixels; 0 keeps the video's size. */
  trickplay_thumbnail_size: z.int().min(0).max(4096).default(0),
  trickplay_thumbnail_interval: z.number().min(1).max(3600).default(10),
  trickplay_thumbnail_quality: z.int().min(1).max(100).default(30),
};

/** What a media worker gets of the trickplay set. */
export interface TrickplayInput {
  interval: number;
  size: number;
  quality: number;
}

/** The trickplay tiles asked for, or null (`trickplay` off, or `trickplay_thumbnails` false). */
export function trickplayOptions(p: { trickplay: boolean; trickplay_thumbnails?: boolean; trickplay_thumbnail_size: number; trickplay_thumbnail_interval: number; trickplay_thumbnail_quality: number }): TrickplayInput | null {
  if (!p.trickplay || p.trickplay_thumbnails === false) return null;
  return { interval: p.trickplay_thumbnail_interval, size: p.trickplay_thumbnail_size, quality: p.trickplay_thumbnail_quality };
}

/** Parameters every media workflow takes. */
export const mediaParameters = {
  content_id: ContentId,
  source: SourceUrl,
  destination_storage: StorageParameter,
  ...commonParameters,
};

/**
 * What a media task returns: the files it left, relative to its attempt's folder in the job's work folder
 * (absent: publish takes every file of that folder).
 */
export interface MediaOutput {
  files?: WorkFile[];
  /** The attempt's folder in the work folder, added by the coordinator when the worker reports (storage/work-folder.ts). */
  work_folder: string;
}

/** The edge task that copies a media task's files from the job's work folder to the client's storage. */
export function publishTask<P extends { destination_storage?: string; output_root?: string }>(after: string, folder: (params: P) => string): TaskDefinition<P> {
  return {
    name: "publish",
    executor: "media.publish",
    needs: [after],
    timeoutMs: 10 * 60_000,
    input: (p, outputs): PublishInput => ({
      storage: p.destination_storage!,
      root_key: p.output_root ?? DEFAULT_ROOT_KEY,
      folder: folder(p),
      work_folder: (outputs[after] as MediaOutput | undefined)?.work_folder ?? "",
      ...((outputs[after] as MediaOutput | undefined)?.files ? { files: (outputs[after] as MediaOutput).files } : {}),
    }),
  };
}

/** `get_sources` (edge): the media files of the job's `source_folder` (below `input_root` unless `more` says otherwise). */
export function getSourcesTask<P extends { source_folder: string; source_storage?: string }>(more: (params: P) => Partial<GetSourcesInput> = () => ({})): TaskDefinition<P> {
  return {
    name: "get_sources",
    executor: "storage.get_sources",
    timeoutMs: 60_000,
    retry: { limit: 2 },
    input: (p): GetSourcesInput => ({ storage: p.source_storage!, root_key: INPUT_ROOT_KEY, folder: p.source_folder, ...more(p) }),
  };
}

/** A media task's read-only `source` root: the job's `source_folder`, below `input_root` unless `rootKey` says otherwise. */
export function sourceFolderRoots<P extends { source_folder: string; source_storage?: string }>(rootKey: (params: P) => string = () => INPUT_ROOT_KEY): (params: P) => Record<string, FileRoot> {
  return (p) => ({ source: { storage: p.source_storage!, root_key: rootKey(p), folder: p.source_folder } });
}

/** `get_drm_keys` (edge), when a package needs keys: they are sealed into its output (executors/get-drm-keys.ts). */
export function getDrmKeysTask<P extends { content_id: string; drm: string[] }>(when: (params: P) => boolean, needs: string[]): TaskDefinition<P> {
  return {
    name: "get_drm_keys",
    executor: "drm.get_keys",
    needs,
    when,
    timeoutMs: 60_000,
    retry: { limit: 2 },
    input: (p): GetDrmKeysInput => ({ content_id: p.content_id, drm: p.drm }),
  };
}

/**
 * vodstream's and vodcapture's `park_earlier` (after `publish`): the active root manifests of an earlier
 * package of the same content in the folder are parked, the ones this job published kept.
 */
export function parkEarlierTask<P extends { content_id: string; destination_storage?: string; output_root?: string }>(folder: (params: P) => string): TaskDefinition<P> {
  return {
    name: "park_earlier",
    executor: "storage.park_earlier_manifests",
    needs: ["publish"],
    timeoutMs: 5 * 60_000,
    input: (p, outputs): ParkEarlierInput => {
      const base = `${folder(p)}/`;
      const published = (outputs.publish as PublishOutput | undefined)?.published ?? [];
      return {
        storage: p.destination_storage!,
        root_key: p.output_root ?? DEFAULT_ROOT_KEY,
        folder: folder(p),
        content_id: p.content_id,
        keep: published.map((path) => path.slice(base.length)).filter((name) => !name.includes("/")),
      };
    },
  };
}

/** The published paths (below the root) of a media task's files. */
export function publishedPaths(folder: string, outputs: Record<string, unknown>, task: string): string[] {
  return ((outputs[task] as MediaOutput | undefined)?.files ?? []).map((file) => `${folder}/${file.name}`);
}

export { StorageFolder };
