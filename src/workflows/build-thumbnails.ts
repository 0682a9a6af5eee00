import { z } from "zod";
import { defineWorkflow } from "./definition";
import { MEDIA_POOL, mediaParameters, publishedPaths, publishTask, StorageFolder } from "./media";
import { fileNameProblem } from "../storage/paths";

export const BuildThumbnailsParameters = z.looseObject({
  ...mediaParameters,
  /** Reference default `"{content_id}"`. */
  output_folder: StorageFolder.optional(),
  filename_prefix: z
    .string()
    .max(200)
    .superRefine((name, ctx) => {
      const problem = fileNameProblem(name);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  preview_thumbnails_interval: z.number().min(1).max(3600).default(10),
  video_fps: z.number().gt(0).max(240).default(24),
});
export type BuildThumbnailsParameters = z.output<typeof BuildThumbnailsParameters>;

/** What the media worker's `media.build_sprite` gets. */
export interface BuildSpriteInput {
  source: string;
  /** Seconds between tiles. */
  interval: number;
  /** Frame rate to assume when the source does not say. */
  video_fps: number;
  prefix: string;
  /** Tiles per sprite sheet; more tiles make more sheets (`<prefix>_sprite_2.jpg`, …). */
  max_tiles: number;
  tile_width: number;
}

const folderOf = (p: BuildThumbnailsParameters) => p.output_folder ?? p.content_id;

/** Reference §3.6: a timeline preview sprite (a tile every interval) and a WebVTT file mapping times to tiles. */
export const buildThumbnails = defineWorkflow({
  name: "build_thumbnails",
  description: "A preview sprite sheet (a tile every preview_thumbnails_interval s) and <prefix>_thumbnails.vtt mapping each interval to its tile (#xywh), published to output_folder.",
  usesWorkFolder: true,
  parameters: BuildThumbnailsParameters,
  example: { content_id: "demo-content", source: "https://media.example.com/demo/master.m3u8", output_folder: "demo-content/thumbs", preview_thumbnails_interval: 10 },
  tasks: () => [
    {
      name: "build_sprite",
      executor: "media.build_sprite",
      runsOn: MEDIA_POOL,
      timeoutMs: 15 * 60_000,
      input: (p): BuildSpriteInput => ({
        source: p.source,
        interval: p.preview_thumbnails_interval,
        video_fps: p.video_fps,
        prefix: p.filename_prefix ?? p.content_id,
        max_tiles: 100,
        tile_width: 160,
      }),
    },
    publishTask<BuildThumbnailsParameters>("build_sprite", folderOf),
  ],
  result: (params, outputs) => {
    const files = publishedPaths(folderOf(params), outputs, "build_sprite");
    return { message: files.join(", "), files };
  },
});
