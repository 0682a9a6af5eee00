import { join } from "node:path";
import { ffmpeg, ffprobe, ToolError, videoStream, type Probe } from "../tools.ts";
import type { GenerateGifInput } from "../../src/workflows/generate-gif.ts";
import type { WorkerExecutor } from "./executor.ts";

/** What the engine puts in the lease (src/workflows/generate-gif.ts). */
type Input = GenerateGifInput;

/**
 * `media.generate_gif`: `duration` s of the source from `start_at`, sampled at `fps` (duration × fps frames),
 * scaled (one side from the other; 480 high when neither is given), optionally reversed, shown at
 * `playback_speed` (the frame delay changes, not the frames), with a palette made for the clip. With
 * `bitrate`, the video stream of the closest rendition is the one filtered.
 */
export const generateGif: WorkerExecutor = async (input, ctx) => {
  const p = input as Input;
  const local = join(ctx.scratch, "clip.gif");
  // The clip is cut first (trim), so that `reverse` and `playback_speed` act on it alone; the input is read
  // only up to the clip's end (`-t` before `-i`), not to the end of a long source.
  const stream = p.bitrate === null ? "0:v:0" : `0:${closestRendition(await ffprobe(p.source, { signal: ctx.signal }), p.bitrate)}`;
  const scale = p.width === -1 && p.height === -1 ? "scale=-2:480" : `scale=${p.width}:${p.height}`;
  const chain = [
    `trim=start=${p.start_at}:duration=${p.duration}`,
    // Sped up (or slowed) first, then sampled at fps × speed: the same duration × fps frames, each shown
    // for 1 / (fps × speed) s.
    `setpts=(PTS-STARTPTS)/${p.playback_speed}`,
    `fps=${p.fps * p.playback_speed}`,
    `${scale}:flags=lanczos`,
    ...(p.reverse ? ["reverse"] : []),
  ].join(",");
  const filter = `[${stream}]${chain},split[a][b];[a]palettegen=stats_mode=diff[pal];[b][pal]paletteuse=dither=bayer`;
  ctx.progress(0, "encoding");
  await ffmpeg(["-t", String(p.start_at + p.duration), "-i", p.source, "-filter_complex", filter, "-loop", String(p.playback_loop), "-f", "gif", local], {
    signal: ctx.signal,
    onTime: (seconds) => ctx.progress(Math.min(95, (100 * seconds * p.playback_speed) / p.duration), "encoding"),
  });
  const probe = await ffprobe(local, { signal: ctx.signal, countFrames: true });
  const gif = videoStream(probe, "the GIF");
  const frames = Number(gif.nb_read_frames ?? 0);
  const expected = Math.round(p.duration * p.fps);
  if (gif.codec_name !== "gif") throw new ToolError(`the output is ${gif.codec_name}, not a GIF`, false);
  if (Math.abs(frames - expected) > 1) throw new ToolError(`the GIF has ${frames} frames, expected ${expected} (duration × fps): the source may end before start_at + duration`, false);
  ctx.progress(100, "encoded");
  return { output: { frames, width: gif.width, height: gif.height }, files: [{ local, name: p.gif_filename, contentType: "image/gif" }] };
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
