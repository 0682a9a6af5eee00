import { join } from "node:path";
import { ffmpeg, ffprobe, ToolError, videoStream, type Probe } from "../tools.ts";
import type { WorkerExecutor } from "./executor.ts";

interface Input {
  source: string;
  start_at: number;
  duration: number;
  fps: number;
  width: number;
  height: number;
  playback_loop: number;
  reverse: boolean;
  playback_speed: number;
  bitrate: number | null;
  gif_filename: string;
}

/**
 * `media.generate_gif`: `duration` s of the source from `start_at`, sampled at `fps` (duration × fps frames),
 * scaled (one side from the other; 480 high when neither is given), optionally reversed, shown at
 * `playback_speed` (the frame delay changes, not the frames), with a palette made for the clip.
 */
export const generateGif: WorkerExecutor = async (input, ctx) => {
  const p = input as Input;
  const local = join(ctx.scratch, "clip.gif");
  const map = p.bitrate === null ? [] : ["-map", `0:${closestRendition(await ffprobe(p.source, { signal: ctx.signal }), p.bitrate)}`];
  const scale = p.width === -1 && p.height === -1 ? "scale=-2:480" : `scale=${p.width}:${p.height}`;
  const chain = [`fps=${p.fps}`, `${scale}:flags=lanczos`, ...(p.reverse ? ["reverse"] : []), `setpts=PTS/${p.playback_speed}`].join(",");
  const filter = `[0:v]${chain},split[a][b];[a]palettegen=stats_mode=diff[pal];[b][pal]paletteuse=dither=bayer`;
  ctx.progress(0, "encoding");
  await ffmpeg(["-i", p.source, ...map, "-ss", String(p.start_at), "-t", String(p.duration), "-filter_complex", filter, "-loop", String(p.playback_loop), "-f", "gif", local], {
    signal: ctx.signal,
    onTime: (seconds) => ctx.progress(Math.min(95, (100 * seconds * p.playback_speed) / p.duration), "encoding"),
  });
  const probe = await ffprobe(local, { signal: ctx.signal, countFrames: true });
  const stream = videoStream(probe, "the GIF");
  const frames = Number(stream.nb_read_frames ?? 0);
  const expected = Math.round(p.duration * p.fps);
  if (stream.codec_name !== "gif") throw new ToolError(`the output is ${stream.codec_name}, not a GIF`, false);
  if (Math.abs(frames - expected) > 1) throw new ToolError(`the GIF has ${frames} frames, expected ${expected} (duration × fps): the source may end before start_at + duration`, false);
  ctx.progress(100, "encoded");
  return { output: { frames, width: stream.width, height: stream.height }, files: [{ local, name: p.gif_filename, contentType: "image/gif" }] };
};

/** The index of the video stream whose rendition bitrate is closest to `bitrate` (HLS variants carry it). */
function closestRendition(probe: Probe, bitrate: number): number {
  const videos = probe.streams.filter((stream) => stream.codec_type === "video");
  if (videos.length === 0) throw new ToolError("the source has no video stream", false);
  const rate = (stream: (typeof videos)[number]) => Number(stream.tags?.variant_bitrate ?? NaN);
  const rated = videos.filter((stream) => Number.isFinite(rate(stream)));
  if (rated.length === 0) return videos[0]!.index;
  return rated.reduce((best, stream) => (Math.abs(rate(stream) - bitrate) < Math.abs(rate(best) - bitrate) ? stream : best)).index;
}
