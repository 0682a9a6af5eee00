import { extname, join } from "node:path";
import { ffmpeg, ffprobe, ToolError, videoStream } from "../tools.ts";
import type { CaptureFrameInput } from "../../src/workflows/capture-frame.ts";
import type { WorkerExecutor } from "./executor.ts";

/** What the engine puts in the lease (src/workflows/capture-frame.ts). */
type Input = CaptureFrameInput;

const FORMATS: Record<string, { codec: string; args: string[]; contentType: string }> = {
  ".jpg": { codec: "mjpeg", args: ["-c:v", "mjpeg", "-q:v", "2"], contentType: "image/jpeg" },
  ".jpeg": { codec: "mjpeg", args: ["-c:v", "mjpeg", "-q:v", "2"], contentType: "image/jpeg" },
  ".png": { codec: "png", args: ["-c:v", "png"], contentType: "image/png" },
  ".webp": { codec: "webp", args: ["-c:v", "libwebp", "-quality", "90"], contentType: "image/webp" },
};

/**
 * `media.capture_frame`: the frame shown at `frame_time`. `-ss` goes after `-i` (decode up to the time): before
 * `-i` on an HLS fMP4 playlist ffmpeg 5.1 can exit 0 with no frame (media-toolchain.md), and only a decode
 * lands on the exact frame rather than the keyframe before it.
 */
export const captureFrame: WorkerExecutor = async (input, ctx) => {
  const { source, frame_time, image_filename } = input as Input;
  const format = FORMATS[extname(image_filename).toLowerCase()];
  if (!format) throw new ToolError(`unsupported image type '${extname(image_filename)}'`, false);
  const local = join(ctx.scratch, `frame${extname(image_filename).toLowerCase()}`);
  ctx.progress(0, "capturing");
  await ffmpeg(["-i", source, "-ss", String(frame_time), "-frames:v", "1", "-update", "1", ...format.args, local], {
    signal: ctx.signal,
    onTime: (seconds) => ctx.progress(Math.min(95, (100 * seconds) / Math.max(frame_time, 0.001)), "capturing"),
  });
  // Checked, not trusted: exit 0 with no image happens.
  const probe = await ffprobe(local, { signal: ctx.signal }).catch(() => {
    throw new ToolError(`no frame at ${frame_time} s: the source is shorter, or ffmpeg wrote no image`, false);
  });
  const stream = videoStream(probe, "the captured image");
  if (stream.codec_name !== format.codec) throw new ToolError(`the captured image is ${stream.codec_name}, not ${format.codec}`, false);
  ctx.progress(100, "captured");
  return { output: { frame_time, width: stream.width, height: stream.height }, files: [{ local, name: image_filename, contentType: format.contentType }] };
};
