import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CaptureInput, ClipTime } from "../../src/workflows/vodcapture.ts";
import { ffmpeg, ffprobe, ffprobeText, ToolError, videoStream, type Probe, type ProbedStream } from "../tools.ts";
import { makeMp4 } from "./create-mp4.ts";
import type { WorkContext, WorkerExecutor } from "./executor.ts";
import { packageSources } from "./package.ts";

/** What the engine puts in the lease (src/workflows/vodcapture.ts). */
type Input = CaptureInput;
type InputClip = Input["clips"][number];

/**
 * `media.capture` (reference §3.2): each clip `start`..`end` of its stream's largest video (and its first
 * audio), the frame nearest `start` first and the one nearest `end` last; frame-accurate clips are re-encoded
 * (H.264 / AAC, all in the first clip's size and frame rate, silence where a clip has no audio, so that they
 * join), keyframe clips copied in whole GOPs (see cutClip; they must match to join). The clips are
 * joined in order, then packaged as vodstream packages or made an MP4. Each clip is checked with ffprobe.
 */
export const capture: WorkerExecutor = async (input, ctx) => {
  const p = input as Input;
  // Every clip's source first: the clips must join (one shape, audio in all or none) before any is cut.
  const opened: { url: string; probe: Probe; video: ProbedStream; audio: boolean; start: number; end: number }[] = [];
  for (const [i, clip] of p.clips.entries()) {
    const { url, probe } = await openSource(clip, i, ctx.signal);
    const video = largestVideo(probe, `clip ${i + 1}'s source`);
    // Encrypted samples decode to garbage without an error exit: a protected source needs its key.
    const encrypted = probe.streams.some((stream) => stream.side_data_list?.some((data) => /encryption/i.test(data.side_data_type ?? "")));
    if (encrypted && !clip.key) throw new ToolError(`clip ${i + 1}'s source is encrypted (CENC): give the clip's key_id and content_key`, false);
    const [start, end] = await offsets(clip, url, ctx.signal);
    const length = Number(probe.format.duration ?? NaN);
    if (Number.isFinite(length) && end > length + 0.001) throw new ToolError(`clip ${i + 1} ends at ${end.toFixed(3)} s, its stream lasts ${length.toFixed(3)} s`, false);
    opened.push({ url, probe, video, audio: probe.streams.some((stream) => stream.codec_type === "audio"), start, end });
  }
  const first = opened[0]!.video;
  const shape = { width: first.width!, height: first.height!, fps: frameRateOf(first), audio: opened.some((clip) => clip.audio) };
  if (!p.frame_accurate) mustJoinAsCopied(opened);
  const pieces: string[] = [];
  for (const [i, clip] of opened.entries()) {
    ctx.progress((40 * i) / p.clips.length, `capturing clip ${i + 1}`);
    const piece = join(ctx.scratch, `clip-${i}.mp4`);
    await cutClip(clip.url, clip.probe, clip.video, p.clips[i]!, clip.start, clip.end, p.frame_accurate ? shape : null, piece, ctx.signal);
    pieces.push(piece);
  }
  const joined = pieces.length === 1 ? pieces[0]! : await joinClips(pieces, ctx);
  const probe = await ffprobe(joined, { signal: ctx.signal });
  const frames = Number(videoStream(probe, "the captured clip").nb_frames ?? 0);
  if (frames === 0) throw new ToolError("the captured clip has no frames", false);
  ctx.progress(40, "packaging");
  if (p.package) return packageSources(p.package, [{ local: joined, probe }], ctx);
  // Outputs in a folder of their own: an mp4_filename never meets the clips' working files.
  await mkdir(join(ctx.scratch, "out"));
  const out = join(ctx.scratch, "out", p.mp4_filename!);
  const made = await makeMp4([{ local: joined, probe }], false, out, ctx.signal, () => undefined);
  return { output: made, files: [{ local: out, name: p.mp4_filename!, contentType: "video/mp4" }] };
};

/** The video stream with the largest picture (an HLS master lists its variants' streams, the lowest often first). */
function largestVideo(probe: Probe, what: string): ProbedStream {
  videoStream(probe, what);
  return probe.streams.filter((stream) => stream.codec_type === "video" && stream.width && stream.height).sort((a, b) => b.width! * b.height! - a.width! * a.height!)[0]!;
}

/** Copied clips join only when they share codec, size, frame rate and audio layout: say which differ. */
function mustJoinAsCopied(clips: { probe: Probe; video: ProbedStream; audio: boolean }[]): void {
  const describe = ({ probe, video, audio }: (typeof clips)[number]) => {
    const sound = probe.streams.find((stream) => stream.codec_type === "audio");
    return `${video.codec_name} ${video.width}x${video.height} ${frameRateOf(video)} fps, ${audio ? `${sound!.codec_name} ${sound!.channels ?? "?"} ch ${sound!.sample_rate ?? "?"} Hz` : "no audio"}`;
  };
  const shapes = clips.map(describe);
  const odd = shapes.findIndex((shape) => shape !== shapes[0]);
  if (odd > 0) throw new ToolError(`clips cut on keyframes are copied and must match to join: clip 1 is ${shapes[0]}, clip ${odd + 1} ${shapes[odd]}; use frame_accurate (re-encoded) instead`, false);
}

/** The first of a clip's redundant origins that ffprobe reads (reference 157); all failing fails the clip. */
async function openSource(clip: InputClip, i: number, signal: AbortSignal): Promise<{ url: string; probe: Probe }> {
  const reasons: string[] = [];
  for (const url of clip.sources) {
    try {
      return { url, probe: await ffprobe(url, { signal, ...(clip.key ? { decryptionKey: clip.key.content_key } : {}) }) };
    } catch (error) {
      if (signal.aborted) throw error;
      reasons.push((error as Error).message);
    }
  }
  throw new ToolError(`clip ${i + 1}: no source could be read (${reasons.join("; ")})`, reasons.every((reason) => /timed out|Connection|5\d\d/.test(reason)));
}

/**
 * A clip's start and end as offsets from its stream's first frame. UTC times are placed by the stream's
 * first EXT-X-PROGRAM-DATE-TIME (HLS: the wall-clock time of its first segment's first sample).
 */
export async function offsets(clip: InputClip, url: string, signal: AbortSignal): Promise<[number, number]> {
  if ("offset" in clip.start && "offset" in clip.end) return [clip.start.offset, clip.end.offset];
  const origin = await programDateTime(url, signal);
  const at = (time: ClipTime) => ("utc" in time ? (Date.parse(time.utc) - origin) / 1000 : time.offset);
  const [start, end] = [at(clip.start), at(clip.end)];
  if (start < 0) throw new ToolError(`the clip starts at ${(clip.start as { utc: string }).utc}, before the stream's first program-date-time ${new Date(origin).toISOString()}`, false);
  return [start, end];
}

/** The stream's first EXT-X-PROGRAM-DATE-TIME (ms), following a master playlist to its first variant. */
async function programDateTime(url: string, signal: AbortSignal): Promise<number> {
  let playlist = await fetchText(url, signal);
  if (playlist.includes("#EXT-X-STREAM-INF")) {
    const variant = playlist.split("\n").map((line) => line.trim()).find((line, i, lines) => i > 0 && lines[i - 1]!.startsWith("#EXT-X-STREAM-INF") && line !== "" && !line.startsWith("#"));
    if (!variant) throw new ToolError("the master playlist names no variant", false);
    playlist = await fetchText(new URL(variant, url).href, signal);
  }
  const match = /^#EXT-X-PROGRAM-DATE-TIME:(.+)$/m.exec(playlist);
  if (!match) throw new ToolError("UTC clip times need a stream with EXT-X-PROGRAM-DATE-TIME (an HLS stream carrying it): give offsets instead", false);
  const ms = Date.parse(match[1]!.trim().replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
  if (!Number.isFinite(ms)) throw new ToolError(`the stream's program-date-time '${match[1]!.slice(0, 40)}' is not a time`, false);
  return ms;
}

/** A playlist's text: at most 4 MiB (a playlist, not a media file). */
async function fetchText(url: string, signal: AbortSignal): Promise<string> {
  if (!/^https?:/i.test(url)) throw new ToolError("UTC clip times need an HLS stream over http(s)", false);
  const response = await fetch(url, { signal });
  if (!response.ok) throw new ToolError(`the stream answered ${response.status}`, response.status >= 500);
  if (Number(response.headers.get("content-length") ?? 0) > 4 << 20) {
    await response.body?.cancel();
    throw new ToolError("UTC clip times need an HLS playlist: this source is not one", false);
  }
  const text = await response.text();
  if (!text.startsWith("#EXTM3U")) throw new ToolError("UTC clip times need an HLS playlist: this source is not one", false);
  return text;
}

/**
 * One clip into `target`. Offsets count from the stream's first video frame; ffmpeg counts from the input's
 * start time (often the audio's, a frame or two earlier), so its positions are shifted by the difference.
 * The end is inclusive: the frame shown at `end` is the clip's last.
 */
async function cutClip(url: string, probe: Probe, video: ProbedStream, clip: InputClip, start: number, end: number, reencode: { width: number; height: number; fps: string; audio: boolean } | null, target: string, signal: AbortSignal): Promise<void> {
  const shift = Number(video.start_time ?? 0) - Number(probe.format.start_time ?? 0);
  const frame = 1 / rate(frameRateOf(video));
  const key = clip.key ? ["-decryption_key", clip.key.content_key] : [];
  const audio = probe.streams.some((stream) => stream.codec_type === "audio");
  if (reencode) {
    const fps = reencode.fps;
    // The frame nearest `start` is the first, the one nearest `end` the last. Positions sit a hundredth of a
    // frame before those frames' times (which absorbs the rounding of timestamps to their timebases), so the
    // first frame lands at 0 and the frame-rate conversion duplicates nothing.
    const nearest = (seconds: number) => Math.round(seconds / frame) * frame + shift;
    const from = Math.max(0, nearest(start) - frame / 100);
    // A clip without audio among clips with it gets silence, so that every piece has the same streams.
    const silence = reencode.audio && !audio ? ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"] : [];
    await ffmpeg(
      [
        ...key, "-i", url, ...silence,
        "-ss", from.toFixed(6), "-to", (nearest(end) + frame / 100).toFixed(6),
        "-map", `0:${video.index}`, ...(audio ? ["-map", "0:a:0"] : silence.length > 0 ? ["-map", "1:a", "-shortest"] : []),
        "-vf", `scale=${reencode.width}:${reencode.height}:force_original_aspect_ratio=decrease,pad=${reencode.width}:${reencode.height}:(ow-iw)/2:(oh-ih)/2,setsar=1`,
        "-r", fps, "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", "-g", String(Math.round(2 * rate(fps))), "-keyint_min", String(Math.round(2 * rate(fps))), "-sc_threshold", "0",
        ...(reencode.audio ? ["-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2"] : []),
        target,
      ],
      { signal },
    );
  } else {
    // Whole GOPs, copied: from the keyframe at or before `start` to the frame before the first keyframe after
    // `end` (the stream's end when there is none), so the clip holds every frame from `start` to `end` and no
    // frame that references one it lacks. ffmpeg's output seek on a copied stream compares decode times and
    // drops what comes before the first keyframe it meets, so video is cut from halfway back to the keyframe
    // before and counted out in frames (decode order: the GOP's own), audio cut exactly at the keyframes'
    // times; the two are muxed together, each starting at 0.
    const formatStart = Number(probe.format.start_time ?? 0);
    const videoStart = Number(video.start_time ?? 0);
    const { keyframe, previous, next } = await keyframesAround(url, video.index, videoStart + start, videoStart + end, key, signal);
    const frames = next === null ? null : Math.round((next - keyframe) * rate(frameRateOf(video)));
    const videoPart = `${target}.video.mp4`;
    // From the stream's first keyframe: no seek at all (decode times before 0 would be dropped with it).
    const from = previous === null ? [] : ["-ss", Math.max(0, previous + (keyframe - previous) / 2 - formatStart).toFixed(6)];
    await ffmpeg([...key, "-i", url, ...from, "-map", `0:${video.index}`, ...(frames === null ? [] : ["-frames:v", String(frames)]), "-c", "copy", videoPart], { signal });
    if (audio) {
      const audioPart = `${target}.audio.mp4`;
      const until = next === null ? [] : ["-to", (next - formatStart).toFixed(6)];
      // Audio is cut at the keyframe's time even from the stream's start (a TS stream's audio may lead its video).
      const audioFrom = ["-ss", Math.max(0, keyframe - formatStart).toFixed(6)];
      await ffmpeg([...key, "-i", url, ...audioFrom, ...until, "-map", "0:a:0", "-c", "copy", audioPart], { signal });
      await ffmpeg(["-i", videoPart, "-i", audioPart, "-map", "0:v", "-map", "1:a", "-c", "copy", target], { signal });
    } else {
      await rename(videoPart, target);
    }
  }
  const made = await ffprobe(target, { signal }).catch(() => null);
  const frames = Number(made?.streams.find((stream) => stream.codec_type === "video")?.nb_frames ?? 0);
  if (!made || frames === 0) throw new ToolError(`the clip ${start}..${end} s gave no frames`, false);
}

/**
 * Presentation times of keyframes around a clip: the last at or before `start`, the one before it, and the
 * first after `end` (null when the clip runs to the stream's end). ffprobe lists keyframes only (the others are
 * skipped undecoded) from the stream's start to 30 s past `end`: it cannot seek into an HLS stream (it then
 * reads nothing), so what comes before the clip is read, what comes after it is not.
 */
async function keyframesAround(url: string, index: number, start: number, end: number, key: string[], signal: AbortSignal): Promise<{ keyframe: number; previous: number | null; next: number | null }> {
  const list = async (window: string[]) => {
    const text = await ffprobeText([...key, ...window, "-select_streams", String(index), "-skip_frame", "nokey", "-show_entries", "frame=pts_time", "-of", "csv=p=0", url], signal);
    // One time per line (csv may leave a trailing comma, or a blank line for a frame's side data), in order.
    return [...new Set(text.split("\n").map((line) => line.trim().replace(/,$/, "")).filter((line) => line !== "").map(Number))].filter((time) => Number.isFinite(time) && time >= 0).sort((a, b) => a - b);
  };
  const times = await list(["-read_intervals", `%${(end + 30).toFixed(3)}`]);
  const before = times.filter((time) => time <= start + 1e-6);
  if (before.length === 0) throw new ToolError("the stream has no keyframe before the clip's start", false);
  return { keyframe: before[before.length - 1]!, previous: before.length > 1 ? before[before.length - 2]! : null, next: times.find((time) => time > end + 1e-6) ?? null };
}

/** A stream's frame rate: the average one (r_frame_rate may be a field rate or a timebase on odd sources). */
function frameRateOf(video: ProbedStream): string {
  return video.avg_frame_rate && !video.avg_frame_rate.startsWith("0/") ? video.avg_frame_rate : (video.r_frame_rate ?? "25/1");
}

function rate(text: string | undefined): number {
  const [num, den] = (text ?? "25/1").split("/").map(Number);
  return num && den ? num / den : 25;
}

/** The clips joined in order with the concat demuxer (same codecs and sizes: streams copied). */
async function joinClips(pieces: string[], ctx: WorkContext): Promise<string> {
  const list = join(ctx.scratch, "clips.txt");
  await writeFile(list, pieces.map((piece) => `file '${piece.replaceAll("'", "'\\''")}'`).join("\n") + "\n");
  const joined = join(ctx.scratch, "capture.mp4");
  await ffmpeg(["-f", "concat", "-safe", "0", "-i", list, "-c", "copy", joined], { signal: ctx.signal });
  return joined;
}
