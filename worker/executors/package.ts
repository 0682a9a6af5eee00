import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { ffmpeg, ffprobe, run, ToolError, type Probe, type ProbedStream } from "../tools.ts";
import type { MadeFile, WorkerExecutor } from "./executor.ts";

interface Input {
  content_id: string;
  sources: { path: string; size: number }[];
  all_audio_tracks: boolean;
  thumbnail_time: number | null;
}

/** shaka-packager's binary for this platform, from the pinned npm package (media-toolchain.md). */
function packagerBinary(): string {
  const names: Record<string, string> = { "linux-x64": "packager-linux-x64", "linux-arm64": "packager-linux-arm64", "darwin-x64": "packager-osx-x64", "darwin-arm64": "packager-osx-arm64", "win32-x64": "packager-win-x64.exe" };
  const name = names[`${process.platform}-${process.arch}`];
  if (!name) throw new ToolError(`shaka-packager has no binary for ${process.platform}/${process.arch}`, false);
  return join(dirname(createRequire(import.meta.url).resolve("shaka-packager/package.json")), "bin", name);
}

const SEGMENT_SECONDS = 2;

/**
 * `media.package` (media.md, Packages): the source folder's files downloaded through the lease, every video
 * stream kept as a rung of the ladder and the audio tracks (all, or the best per language), packaged by
 * shaka-packager as CMAF: `<content_id>_nodrm_<guid>/` with `master.m3u8`, `manifest.mpd`, one folder of
 * segments per stream; then the active root manifests `<content_id>_nodrm_<guid>.m3u8` / `.mpd` beside it,
 * pointing into the package. Every manifest is read back with ffprobe (its streams, and its duration within one
 * frame of the source's) before anything is uploaded.
 */
export const packageVod: WorkerExecutor = async (input, ctx) => {
  const p = input as Input;
  if (p.sources.length === 0) throw new ToolError("no source files", false);
  ctx.progress(0, "downloading");
  const sources: { local: string; probe: Probe }[] = [];
  for (const [i, source] of p.sources.entries()) {
    const local = join(ctx.scratch, `source-${i}${source.path.slice(source.path.lastIndexOf("."))}`);
    await ctx.download(source.path, local);
    sources.push({ local, probe: await ffprobe(local, { signal: ctx.signal }) });
  }
  const videos = sources.flatMap(({ local, probe }) => probe.streams.filter(isVideo).map((stream) => ({ local, stream })));
  if (videos.length === 0) throw new ToolError("no source has a video stream", false);
  const audios = chooseAudio(sources.flatMap(({ local, probe }) => probe.streams.filter((stream) => stream.codec_type === "audio").map((stream) => ({ local, stream }))), p.all_audio_tracks);

  const name = `${p.content_id}_nodrm_${randomUUID().replaceAll("-", "")}`;
  const out = join(ctx.scratch, "out");
  await mkdir(out);
  const descriptors = [
    ...videos.map(({ local, stream }, i) => `in=${local},stream=${stream.index},init_segment=${name}/video_${i}/init.mp4,segment_template=${name}/video_${i}/$Number$.m4s,playlist_name=video_${i}.m3u8`),
    ...audios.map(({ local, stream }, i) => {
      const language = stream.tags?.language && stream.tags.language !== "und" ? stream.tags.language : null;
      return `in=${local},stream=${stream.index},init_segment=${name}/audio_${i}/init.mp4,segment_template=${name}/audio_${i}/$Number$.m4s,playlist_name=audio_${i}.m3u8,hls_group_id=audio,hls_name=${language ?? `audio_${i}`}${language ? `,language=${language}` : ""}`;
    }),
  ];
  ctx.progress(50, "packaging");
  await run(packagerBinary(), [...descriptors, "--segment_duration", String(SEGMENT_SECONDS), "--generate_static_live_mpd", "--hls_playlist_type", "VOD", "--hls_master_playlist_output", `${name}/master.m3u8`, "--mpd_output", `${name}/manifest.mpd`], { cwd: out, signal: ctx.signal });
  await writeRootManifests(out, name);

  // The source's length: the longest of the files the ladder's rungs come from.
  const duration = Math.max(...sources.filter(({ local }) => videos.some((video) => video.local === local)).map(({ probe }) => Number(probe.format.duration ?? 0)));
  const frame = 1 / frameRate(videos[0]!.stream);
  for (const manifest of [`${name}/master.m3u8`, `${name}/manifest.mpd`, `${name}.m3u8`, `${name}.mpd`]) {
    const probe = await ffprobe(join(out, manifest), { signal: ctx.signal });
    const found = probe.streams.filter(isVideo).length;
    if (found < videos.length) throw new ToolError(`${manifest} shows ${found} video streams, the package has ${videos.length}`, false);
    // ffprobe gives no duration for DASH: the MPD's own mediaPresentationDuration is what a player uses.
    const length = manifest.endsWith(".mpd") ? isoDuration(await readFile(join(out, manifest), "utf8")) : Number(probe.format.duration ?? NaN);
    if (!(Math.abs(length - duration) <= frame + 1e-6)) throw new ToolError(`${manifest} lasts ${length} s, the source ${duration} s (more than one frame apart)`, false);
  }

  const files: MadeFile[] = [];
  if (p.thumbnail_time !== null) {
    const local = join(out, `${p.content_id}_thumbnail.jpg`);
    await ffmpeg(["-i", videos[0]!.local, "-ss", String(p.thumbnail_time), "-frames:v", "1", "-update", "1", "-q:v", "2", local], { signal: ctx.signal });
    const thumbnail = (await ffprobe(local, { signal: ctx.signal }).catch(() => null))?.streams.find(isVideo);
    if (!thumbnail) throw new ToolError(`no thumbnail at ${p.thumbnail_time} s: the source is shorter`, false);
  }
  for (const local of await listFiles(out)) {
    const path = relative(out, local).split(sep).join("/");
    files.push({ local, name: path, contentType: contentType(path) });
  }
  ctx.progress(100, "packaged");
  return { output: { package: name, duration, renditions: videos.length, audio_tracks: audios.length }, files };
};

function isVideo(stream: ProbedStream): boolean {
  return stream.codec_type === "video" && stream.disposition?.attached_pic !== 1;
}

/** Every audio track, or the highest-bitrate one of each language. */
function chooseAudio<T extends { stream: ProbedStream }>(tracks: T[], all: boolean): T[] {
  if (all) return tracks;
  const best = new Map<string, T>();
  for (const track of tracks) {
    const language = track.stream.tags?.language ?? "und";
    const kept = best.get(language);
    if (!kept || Number(track.stream.bit_rate ?? 0) > Number(kept.stream.bit_rate ?? 0)) best.set(language, track);
  }
  return [...best.values()];
}

/** An MPD's mediaPresentationDuration (`PT1H2M3.5S`) in seconds, or NaN. */
export function isoDuration(mpd: string): number {
  const match = /mediaPresentationDuration="PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?"/.exec(mpd);
  return match ? Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0) : NaN;
}

function frameRate(stream: ProbedStream): number {
  const [num, den] = (stream.r_frame_rate ?? "25/1").split("/").map(Number);
  return num && den ? num / den : 25;
}

/**
 * The active root manifests: the package's master playlist with every URI made relative to the folder above
 * it, and its MPD with a BaseURL into the package (media.md: the active package is named by a manifest at the
 * folder's root).
 */
async function writeRootManifests(out: string, name: string): Promise<void> {
  const master = await readFile(join(out, name, "master.m3u8"), "utf8");
  const hls = master
    .split("\n")
    .map((line) => (line === "" || line.startsWith("#") ? line.replace(/URI="([^"]+)"/g, (_all, uri: string) => `URI="${name}/${uri}"`) : `${name}/${line}`))
    .join("\n");
  await writeFile(join(out, `${name}.m3u8`), hls);
  const mpd = await readFile(join(out, name, "manifest.mpd"), "utf8");
  const withBase = mpd.replace(/(<MPD\b[^>]*>)/, `$1\n  <BaseURL>${name}/</BaseURL>`);
  if (withBase === mpd) throw new ToolError("the package's MPD has no MPD element", false);
  await writeFile(join(out, `${name}.mpd`), withBase);
}

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort();
}

function contentType(path: string): string {
  if (path.endsWith(".m3u8")) return "application/vnd.apple.mpegurl";
  if (path.endsWith(".mpd")) return "application/dash+xml";
  if (path.endsWith(".m4s") || path.endsWith(".mp4")) return "video/mp4";
  if (path.endsWith(".jpg")) return "image/jpeg";
  return "application/octet-stream";
}
