import { z } from "zod";
import type { GetSourcesOutput } from "../executors/get-sources";
import { commonParameters, FileNameContentId, StorageFolder, StorageParameter } from "./common";
import { defineWorkflow } from "./definition";
import { getSourcesTask, sourceFolderRoots, MEDIA_POOL, publishedPaths, publishTask, TrickplayParameters, trickplayOptions, type TrickplayInput } from "./media";

export const TrickplayWorkflowParameters = z
  .looseObject({
    content_id: FileNameContentId,
    source_folder: StorageFolder,
    /** Reference default `"{source_folder}"`. */
    output_folder: StorageFolder.optional(),
    source_storage: StorageParameter,
    destination_storage: StorageParameter,
    ...TrickplayParameters,
    // This workflow is the trickplay set on its own: on unless trickplay_thumbnails says otherwise.
    trickplay: z.boolean().default(true),
    ...commonParameters,
  })
  .superRefine((p, ctx) => {
    if (p.trickplay_thumbnails === false || !p.trickplay) {
      ctx.addIssue({ code: "custom", path: [p.trickplay ? "trickplay_thumbnails" : "trickplay"], message: "false asks only for sync samples, which CMAF segments already start with: nothing to make" });
    }
  });
export type TrickplayWorkflowParameters = z.output<typeof TrickplayWorkflowParameters>;

/** What the media worker's `media.trickplay` gets: the source files (the lease's `source` root) and the tiles asked for. */
export interface TrickplayTaskInput {
  sources: GetSourcesOutput["sources"];
  tiles: TrickplayInput;
}

const folderOf = (p: TrickplayWorkflowParameters) => p.output_folder ?? p.source_folder;

/**
 * Reference §3.14 (media.md): trick-play tiles of the source folder's top video, a JPEG frame every
 * `trickplay_thumbnail_interval` seconds, 5×5 to a sheet, with a DASH thumbnail adaptation set
 * (`trickplay.mpd`) and an HLS images-only playlist (`trickplay.m3u8`) beside `trickplay/tile_<n>.jpg`.
 */
export const trickplay = defineWorkflow({
  name: "trickplay",
  description:
    "Trick-play image tiles of source_folder's top video (a frame every trickplay_thumbnail_interval s, 5x5 per sheet, trickplay_thumbnail_size long edge, trickplay_thumbnail_quality), described by a DASH thumbnail adaptation set (trickplay.mpd) and an HLS #EXT-X-IMAGES-ONLY playlist (trickplay.m3u8), published to output_folder.",
  usesWorkFolder: true,
  parameters: TrickplayWorkflowParameters,
  example: { content_id: "demo1", source_folder: "demo1/source", output_folder: "demo1", trickplay_thumbnail_size: 320, trickplay_thumbnail_interval: 10, trickplay_thumbnail_quality: 30 },
  tasks: () => [
    getSourcesTask<TrickplayWorkflowParameters>(),
    {
      name: "trickplay",
      executor: "media.trickplay",
      runsOn: MEDIA_POOL,
      needs: ["get_sources"],
      timeoutMs: 30 * 60_000,
      retry: { limit: 2 },
      fileRoots: sourceFolderRoots<TrickplayWorkflowParameters>(),
      input: (p, outputs): TrickplayTaskInput => ({ sources: (outputs.get_sources as GetSourcesOutput | undefined)?.sources ?? [], tiles: trickplayOptions(p)! }),
    },
    publishTask<TrickplayWorkflowParameters>("trickplay", folderOf),
  ],
  result: (params, outputs) => ({ files: publishedPaths(folderOf(params), outputs, "trickplay") }),
});
