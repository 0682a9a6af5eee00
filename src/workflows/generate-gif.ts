import { z } from "zod";
import { defineWorkflow } from "./definition";
import { MEDIA_POOL, mediaParameters, Offset, outputFileName, publishedPaths, publishTask, StorageFolder } from "./media";

const Dimension = z.int().min(-1).max(4096).refine((value) => value !== 0, "must be -1 (from the other side) or a size in pixels");

export const GenerateGifParameters = z
  .looseObject({
    ...mediaParameters,
    start_at: Offset,
    duration: z.number().gt(0).max(60, "a GIF may be at most 60 s long"),
    output_folder: StorageFolder,
    gif_filename: outputFileName([".gif"]),
    bitrate: z.int().positive().optional(),
    fps: z.number().gt(0).max(50).default(12),
    width: Dimension.default(-1),
    height: Dimension.default(-1),
    playback_loop: z.int().min(-1).max(65_535).default(0),
    reverse: z.boolean().default(false),
    playback_speed: z.number().min(0.1).max(10).default(1),
  })
  .refine((p) => p.duration * p.fps <= 1500, { path: ["duration"], message: "duration × fps may be at most 1500 frames" });
export type GenerateGifParameters = z.output<typeof GenerateGifParameters>;

/** What the media worker's `media.generate_gif` gets. */
export interface GenerateGifInput {
  source: string;
  start_at: number;
  duration: number;
  fps: number;
  /** Pixels, or -1: from the other side by the aspect ratio; both -1: 480 high. */
  width: number;
  height: number;
  /** GIF loop count: 0 forever, -1 once (no loop extension), n: n more times. */
  playback_loop: number;
  reverse: boolean;
  playback_speed: number;
  /** Picks the rendition whose bitrate is closest (an HLS or DASH source with several). */
  bitrate: number | null;
  gif_filename: string;
}

/** Reference §3.8: an animated GIF of `duration` seconds from `start_at`. */
export const generateGif = defineWorkflow({
  name: "generate_gif",
  description: "An animated GIF of duration seconds from start_at of a source, at fps, sized by width/height (480 high when neither), looped, reversed or sped up as asked.",
  usesWorkFolder: true,
  parameters: GenerateGifParameters,
  example: { content_id: "demo-content", source: "https://media.example.com/demo/master.m3u8", start_at: 12, duration: 3, output_folder: "demo-content/gifs", gif_filename: "clip.gif", fps: 12 },
  tasks: () => [
    {
      name: "generate_gif",
      executor: "media.generate_gif",
      runsOn: MEDIA_POOL,
      timeoutMs: 10 * 60_000,
      input: (p): GenerateGifInput => ({
        source: p.source,
        start_at: p.start_at,
        duration: p.duration,
        fps: p.fps,
        width: p.width,
        height: p.height,
        playback_loop: p.playback_loop,
        reverse: p.reverse,
        playback_speed: p.playback_speed,
        bitrate: p.bitrate ?? null,
        gif_filename: p.gif_filename,
      }),
    },
    publishTask<GenerateGifParameters>("generate_gif", (p) => p.output_folder),
  ],
  result: (params, outputs) => ({ message: params.gif_filename, files: publishedPaths(params.output_folder, outputs, "generate_gif") }),
});
