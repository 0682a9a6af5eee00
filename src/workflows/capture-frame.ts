import { z } from "zod";
import { defineWorkflow } from "./definition";
import { MEDIA_POOL, mediaParameters, Offset, outputFileName, publishedPaths, publishTask, StorageFolder } from "./media";

export const CaptureFrameParameters = z.looseObject({
  ...mediaParameters,
  frame_time: Offset,
  output_folder: StorageFolder,
  image_filename: outputFileName([".jpg", ".jpeg", ".png", ".webp"]),
});
export type CaptureFrameParameters = z.output<typeof CaptureFrameParameters>;

/** What the media worker's `media.capture_frame` gets. */
export interface CaptureFrameInput {
  source: string;
  /** Seconds into the source. */
  frame_time: number;
  image_filename: string;
}

/** Reference §3.9: one frame of a source as an image (JPEG, PNG or WebP by the file name's extension). */
export const captureFrame = defineWorkflow({
  name: "capture_frame",
  description: "One frame of a source (HLS, DASH or MP4 URL) at frame_time, as a JPEG, PNG or WebP image, published to output_folder.",
  usesWorkFolder: true,
  parameters: CaptureFrameParameters,
  example: { content_id: "demo-content", source: "https://media.example.com/demo/master.m3u8", frame_time: "00:00:07.0400000", output_folder: "demo-content/images", image_filename: "frame.jpg" },
  tasks: () => [
    {
      name: "capture_frame",
      executor: "media.capture_frame",
      runsOn: MEDIA_POOL,
      timeoutMs: 5 * 60_000,
      input: (p): CaptureFrameInput => ({ source: p.source, frame_time: p.frame_time, image_filename: p.image_filename }),
    },
    publishTask<CaptureFrameParameters>("capture_frame", (p) => p.output_folder),
  ],
  result: (params, outputs) => ({ message: params.image_filename, files: publishedPaths(params.output_folder, outputs, "capture_frame") }),
});
