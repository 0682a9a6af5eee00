import { mkdir, open } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { ffmpeg, ffprobe, ToolError, type Probe, type ProbedStream } from "../tools.ts";
import type { CreateMp4Input } from "../../src/workflows/createmp4.ts";
import type { WorkContext, WorkerExecutor } from "./executor.ts";
import { downloadSources, type LocalSource } from "./sources.ts";
import { noReferenceOutside } from "./manifest-references.ts";

/** What the engine puts in the lease (src/workflows/createmp4.ts). */
type Input = CreateMp4Input;

/**
 * `media.create_mp4`: the source folder's files downloaded through the lease, then one MP4 with their
 * highest-bitrate video and audio (or, with `mezzanine`, every video track and the best audio), streams
 * copied, `+faststart`. The output is checked: the streams asked for are there, it plays as long as its
 * sources (within 0.1 s: audio and video may end a few frames apart), and its `moov` box comes before `mdat`.
 */
export const createMp4: WorkerExecutor = async (input, ctx) => {
  const p = input as Input;
  const locals = p.package ? [await downloadPackage(p.package, ctx)] : await downloadSources(p.sources, ctx, 50);
  const out = join(ctx.scratch, "out.mp4");
  const output = await makeMp4(locals, p.mezzanine, out, ctx.signal, (fraction) => ctx.progress(50 + 45 * fraction, "muxing"));
  ctx.progress(100, "done");
  return { output, files: [{ local: out, name: p.mp4_filename, contentType: "video/mp4" }] };
};

/** A VOD package downloaded as it is laid out (its playlists name their segments relatively), its root playlist probed. */
async function downloadPackage(vod: NonNullable<Input["package"]>, ctx: WorkContext): Promise<LocalSource> {
  const folder = join(ctx.scratch, "package");
  ctx.progress(0, "downloading");
  for (const [i, file] of [{ path: vod.manifest }, ...vod.files].entries()) {
    const local = join(folder, file.path);
    // Paths come from a listing of the client's storage: none may land outside the folder.
    if (!local.startsWith(folder + sep)) throw new ToolError(`package file ${JSON.stringify(file.path.slice(0, 100))} is outside its package`, false);
    await mkdir(dirname(local), { recursive: true });
    await ctx.download(file.path, local);
    if (i % 50 === 0) ctx.progress((50 * i) / (vod.files.length + 1), "downloading");
  }
  // ffmpeg follows every URI a playlist names: the package's must stay inside it (no other file of this machine, no URL).
  await noReferenceOutside(folder);
  const local = join(folder, vod.manifest);
  return { local, probe: await ffprobe(local, { signal: ctx.signal }) };
}

/** The MP4 of `locals` at `out` (see createMp4), checked; `progress` gets the fraction written. */
export async function makeMp4(locals: LocalSource[], mezzanine: boolean, out: string, signal: AbortSignal, progress: (fraction: number) => void): Promise<{ duration: number; video_streams: number; audio_streams: number }> {
  const picked = pick(locals.map((source) => source.probe), mezzanine);
  const duration = Math.max(...locals.map((source) => Number(source.probe.format.duration ?? 0)));
  await ffmpeg(
    [
      ...locals.flatMap((source) => ["-i", source.local]),
      ...picked.flatMap(({ file, stream }) => ["-map", `${file}:${stream.index}`]),
      "-c",
      "copy",
      // Audio an MP4 cannot carry (PCM from a MOV mezzanine, say) is encoded to AAC; the rest is copied.
      ...picked.filter(({ stream }) => stream.codec_type === "audio").flatMap(({ stream }, i) => (MP4_AUDIO.has(stream.codec_name) ? [] : [`-c:a:${i}`, "aac", `-b:a:${i}`, "256k"])),
      "-movflags",
      "+faststart",
      out,
    ],
    { signal, onTime: (seconds) => progress(Math.min(1, seconds / Math.max(duration, 0.001))) },
  );
  const made = await ffprobe(out, { signal });
  const videos = made.streams.filter((stream) => stream.codec_type === "video").length;
  const audios = made.streams.filter((stream) => stream.codec_type === "audio").length;
  const wanted = { video: picked.filter(({ stream }) => stream.codec_type === "video").length, audio: picked.filter(({ stream }) => stream.codec_type === "audio").length };
  if (videos !== wanted.video || audios !== wanted.audio) throw new ToolError(`the MP4 has ${videos} video and ${audios} audio streams, expected ${wanted.video} and ${wanted.audio}`, false);
  const length = Number(made.format.duration ?? 0);
  if (Math.abs(length - duration) > 0.1) throw new ToolError(`the MP4 lasts ${length} s, its sources ${duration} s`, false);
  if (!(await moovFirst(out))) throw new ToolError("the MP4's moov box does not come before its media data (+faststart failed)", false);
  return { duration: length, video_streams: videos, audio_streams: audios };
}

/** Audio codecs an MP4 carries as they are. */
const MP4_AUDIO = new Set(["aac", "mp3", "ac3", "eac3", "opus", "flac", "alac"]);

/** The streams to keep: the best video (all of them with `mezzanine`) and the best audio, across the files. */
export function pick(probes: Probe[], mezzanine: boolean): { file: number; stream: ProbedStream }[] {
  const all = probes.flatMap((probe, file) => probe.streams.map((stream) => ({ file, stream })));
  const videos = all.filter(({ stream }) => stream.codec_type === "video" && stream.disposition?.attached_pic !== 1);
  const audios = all.filter(({ stream }) => stream.codec_type === "audio");
  if (videos.length === 0) throw new ToolError("no source has a video stream", false);
  const byQuality = (a: { stream: ProbedStream }, b: { stream: ProbedStream }) => quality(b.stream) - quality(a.stream);
  const kept = mezzanine ? [...videos].sort(byQuality) : [[...videos].sort(byQuality)[0]!];
  const audio = [...audios].sort((a, b) => Number(b.stream.bit_rate ?? 0) - Number(a.stream.bit_rate ?? 0))[0];
  return audio ? [...kept, audio] : kept;
}

/**
 * Higher is better: the picture size first, then the bitrate where known (TS and MKV streams often have none,
 * so bitrates alone would compare unknowns with numbers).
 */
function quality(stream: ProbedStream): number {
  const bitrate = Number(stream.bit_rate ?? stream.tags?.variant_bitrate ?? 0);
  return (stream.width ?? 0) * (stream.height ?? 0) * 1e9 + (Number.isFinite(bitrate) ? bitrate : 0);
}

/** Whether the file's top-level `moov` box comes before its `mdat` (what +faststart arranges). */
export async function moovFirst(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(16);
    for (let offset = 0; offset + 8 <= size; ) {
      await handle.read(header, 0, 16, offset);
      let boxSize = header.readUInt32BE(0);
      const type = header.toString("latin1", 4, 8);
      if (type === "moov") return true;
      if (type === "mdat") return false;
      if (boxSize === 1) boxSize = Number(header.readBigUInt64BE(8));
      else if (boxSize === 0) return false;
      offset += boxSize;
    }
    return false;
  } finally {
    await handle.close();
  }
}
