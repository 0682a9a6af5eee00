import { z } from "zod";
import { INPUT_ROOT_KEY } from "../domain/storage-config";
import type { GetSourcesOutput } from "../executors/get-sources";
import { commonParameters, FileNameContentId, OutputRoot, StorageFolder, StorageParameter } from "./common";
import { defineWorkflow } from "./definition";
import { getSourcesTask, sourceFolderRoots, MEDIA_POOL, outputFileName, publishedPaths, publishTask } from "./media";

export const CreateMp4Parameters = z.looseObject({
  content_id: FileNameContentId,
  source_folder: StorageFolder,
  /** Reference default `"{source_folder}"`. */
  output_folder: StorageFolder.optional(),
  /** Reference default `"{content_id}.mp4"`. */
  mp4_filename: outputFileName([".mp4"]).optional(),
  mezzanine: z.boolean().default(false),
  /**
   * The root `source_folder` is below (ext): `input_root` (the default: source files), or `output_root` to
   * read a VOD asset vodstream made there.
   */
  source_root: OutputRoot,
  source_storage: StorageParameter,
  destination_storage: StorageParameter,
  ...commonParameters,
});
export type CreateMp4Parameters = z.output<typeof CreateMp4Parameters>;

/** What the media worker's `media.create_mp4` gets: the source files, read through the lease's `source` root. */
export interface CreateMp4Input {
  sources: GetSourcesOutput["sources"];
  /** A VOD package to read instead (the folder had no media files). */
  package?: GetSourcesOutput["package"];
  mp4_filename: string;
  /** All video tracks (true), or only the highest-bitrate video and audio (false). */
  mezzanine: boolean;
}

const folderOf = (p: CreateMp4Parameters) => p.output_folder ?? p.source_folder;
const filenameOf = (p: CreateMp4Parameters) => p.mp4_filename ?? `${p.content_id}.mp4`;
const sourceRootOf = (p: CreateMp4Parameters) => p.source_root ?? INPUT_ROOT_KEY;

/** Reference §3.5: one MP4 (`+faststart`) from the media files of a source folder, or from the clear VOD package in it. */
export const createMp4 = defineWorkflow({
  name: "createmp4",
  description:
    "One MP4 (+faststart) from the media files of source_folder (MP4, MOV, MKV, TS), or from the clear VOD package vodstream made there: the highest-bitrate video and audio, or every video track with mezzanine; published as mp4_filename to output_folder.",
  usesWorkFolder: true,
  parameters: CreateMp4Parameters,
  example: { content_id: "demo-content", source_folder: "demo-content/source", mp4_filename: "demo.mp4", mezzanine: false },
  tasks: () => [
    // Its own MP4 of an earlier run in the same folder is not a source.
    getSourcesTask<CreateMp4Parameters>((p) => ({ root_key: sourceRootOf(p), exclude: [filenameOf(p)], packages: true })),
    {
      name: "create_mp4",
      executor: "media.create_mp4",
      runsOn: MEDIA_POOL,
      needs: ["get_sources"],
      timeoutMs: 30 * 60_000,
      retry: { limit: 2 },
      fileRoots: sourceFolderRoots<CreateMp4Parameters>(sourceRootOf),
      input: (p, outputs): CreateMp4Input => ({
        sources: (outputs.get_sources as GetSourcesOutput | undefined)?.sources ?? [],
        ...((outputs.get_sources as GetSourcesOutput | undefined)?.package ? { package: (outputs.get_sources as GetSourcesOutput).package } : {}),
        mp4_filename: filenameOf(p),
        mezzanine: p.mezzanine,
      }),
    },
    publishTask<CreateMp4Parameters>("create_mp4", folderOf),
  ],
  result: (params, outputs) => ({ message: filenameOf(params), files: publishedPaths(folderOf(params), outputs, "create_mp4") }),
});
