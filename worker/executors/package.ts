import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { ffmpeg, ffprobe, run, ToolError, type Probe, type ProbedStream } from "../tools.ts";
import type { PackageInput } from "../../src/workflows/vodstream.ts";
import type { MadeFile, WorkerExecutor } from "./executor.ts";
import { downloadSources, type LocalSource } from "./sources.ts";

/** What the engine puts in the lease (src/workflows/vodstream.ts). */
type Input = PackageInput;

/** shaka-packager's binary for this platform, from the pinned npm package (media-toolchain.md). */
export function packagerBinary(): string {
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
  const sources: LocalSource[] = [];
  for (const { local, probe } of await downloadSources(p.sources, ctx, 40)) {
    const readable = await readableByPackager(local, probe, ctx.signal);
    sources.push({ local: readable, probe: readable === local ? probe : await ffprobe(readable, { signal: ctx.signal }) });
  }
  // The ladder, top rung first (video_0; the thumbnail is taken from it).
  const videos = sources
    .flatMap(({ local, probe }) => probe.streams.filter(isVideo).map((stream) => ({ local, stream })))
    .sort((a, b) => (b.stream.width ?? 0) * (b.stream.height ?? 0) - (a.stream.width ?? 0) * (a.stream.height ?? 0));
  if (videos.length === 0) throw new ToolError("no source has a video stream", false);
  const audios = chooseAudio(sources.flatMap(({ local, probe }) => probe.streams.filter((stream) => stream.codec_type === "audio").map((stream) => ({ local, stream }))), p.all_audio_tracks);
  const names = audioNames(audios.map(({ stream }) => languageOf(stream)));

  const name = `${p.content_id}_nodrm_${randomUUID().replaceAll("-", "")}`;
  const out = join(ctx.scratch, "out");
  await mkdir(out);
  const descriptors = [
    ...videos.map(({ local, stream }, i) => `in=${local},stream=${stream.index},init_segment=${name}/video_${i}/init.mp4,segment_template=${name}/video_${i}/$Number$.m4s,playlist_name=video_${i}.m3u8`),
    ...audios.map(({ local, stream }, i) => {
      // Only a checked language tag goes into the descriptor: the tag comes from the client's file, and shaka
      // reads `,` and `=` in it as more descriptor fields (output paths anywhere on this machine).
      const language = languageOf(stream);
      return `in=${local},stream=${stream.index},init_segment=${name}/audio_${i}/init.mp4,segment_template=${name}/audio_${i}/$Number$.m4s,playlist_name=audio_${i}.m3u8,hls_group_id=audio,hls_name=${names[i]}${language ? `,language=${language}` : ""}`;
    }),
  ];
  const defaultLanguage = audios.map(({ stream }) => languageOf(stream)).find((language) => language !== null);
  ctx.progress(50, "packaging");
  await run(packagerBinary(), [...descriptors, "--segment_duration", String(SEGMENT_SECONDS), "--generate_static_live_mpd", "--hls_playlist_type", "VOD", ...(defaultLanguage ? ["--default_language", defaultLanguage] : []), "--hls_master_playlist_output", `${name}/master.m3u8`, "--mpd_output", `${name}/manifest.mpd`], { cwd: out, signal: ctx.signal });
  await writeRootManifests(out, name);

  // The source's length: the longest of the files the ladder's rungs come from.
  const duration = Math.max(...sources.filter(({ local }) => videos.some((video) => video.local === local)).map(({ probe }) => Number(probe.format.duration ?? 0)));
  const frame = 1 / frameRate(videos[0]!.stream);
  await noReferenceOutside(out);
  for (const manifest of [`${name}/master.m3u8`, `${name}/manifest.mpd`, `${name}.m3u8`, `${name}.mpd`]) {
    const probe = await ffprobe(join(out, manifest), { signal: ctx.signal });
    const found = { video: probe.streams.filter(isVideo).length, audio: probe.streams.filter((stream) => stream.codec_type === "audio").length };
    if (found.video !== videos.length || found.audio !== audios.length) {
      throw new ToolError(`${manifest} shows ${found.video} video and ${found.audio} audio streams, the package has ${videos.length} and ${audios.length}`, false);
    }
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
  return { output: { package: name, duration, renditions: videos.length, audio_tracks: audios.length }, files, listFiles: false };
};

/** A language tag as BCP 47 / ISO 639 writes it, or null (absent, `und`, or anything else a file may say). */
export function languageOf(stream: ProbedStream): string | null {
  const tag = stream.tags?.language;
  return tag !== undefined && tag !== "und" && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag) ? tag : null;
}

/** The HLS NAME of each audio rendition: its language, made unique within the group (RFC 8216 §4.3.4.1.1). */
function audioNames(languages: (string | null)[]): string[] {
  const seen = new Map<string, number>();
  return languages.map((language, i) => {
    const base = language ?? `audio_${i}`;
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base}_${count}`;
  });
}

/** Codecs shaka-packager reads from MP4 / TS; other containers or codecs are remuxed (or re-encoded) first. */
const PACKAGER_CONTAINER = /\.(mp4|m4v|ts)$/;
const CMAF_VIDEO = new Set(["h264", "hevc", "vp9", "av1"]);
const CMAF_AUDIO = new Set(["aac", "ac3", "eac3", "opus", "flac"]);

/**
 * The source as shaka-packager can read it: MP4 and TS with CMAF codecs as they are; anything else (MOV, MKV,
 * AVI, MPEG-2, PCM audio…) remuxed into an MP4 first, its video re-encoded to H.264 and its audio to AAC where
 * CMAF cannot carry them. Every stream is kept.
 */
async function readableByPackager(local: string, probe: Probe, signal: AbortSignal): Promise<string> {
  const videoOk = probe.streams.filter(isVideo).every((stream) => CMAF_VIDEO.has(stream.codec_name));
  const audioOk = probe.streams.filter((stream) => stream.codec_type === "audio").every((stream) => CMAF_AUDIO.has(stream.codec_name));
  if (PACKAGER_CONTAINER.test(local) && videoOk && audioOk) return local;
  const remuxed = `${local}.remux.mp4`;
  await ffmpeg(
    ["-i", local, "-map", "0:v?", "-map", "0:a?", "-map", "-0:v:m:attached_pic?", ...(videoOk ? ["-c:v", "copy"] : ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]), ...(audioOk ? ["-c:a", "copy"] : ["-c:a", "aac", "-b:a", "192k"]), "-movflags", "+faststart", remuxed],
    { signal },
  );
  return remuxed;
}

/** Every URI the package's manifests name stays inside the package output (nothing a source tag could steer). */
async function noReferenceOutside(out: string): Promise<void> {
  for (const file of await listFiles(out)) {
    if (!/\.(m3u8|mpd)$/.test(file)) continue;
    const text = await readFile(file, "utf8");
    const uris = file.endsWith(".m3u8")
      ? text.split("\n").flatMap((line) => (line.startsWith("#") ? [...line.matchAll(/URI="([^"]+)"/g)].map((match) => match[1]!) : line.trim() === "" ? [] : [line.trim()]))
      : [...text.matchAll(/(?:media|initialization)="([^"]+)"|<BaseURL>([^<]+)<\/BaseURL>/g)].map((match) => (match[1] ?? match[2])!);
    for (const uri of uris) {
      const target = join(dirname(file), uri.replaceAll("$Number$", "1"));
      if (/^[a-z]+:/i.test(uri) || uri.startsWith("/") || !target.startsWith(out + sep)) throw new ToolError(`${relative(out, file)} refers to '${uri.slice(0, 100)}', outside the package`, false);
    }
  }
}

function isVideo(stream: ProbedStream): boolean {
  return stream.codec_type === "video" && stream.disposition?.attached_pic !== 1;
}

/**
 * The audio renditions: every distinct track (all), or the highest-bitrate one of each language. Copies of one
 * track (the same audio in each rung's file, as encoders write ladders) count once: the best of them.
 */
function chooseAudio<T extends { stream: ProbedStream }>(tracks: T[], all: boolean): T[] {
  const best = new Map<string, T>();
  for (const track of tracks) {
    const { stream } = track;
    const key = all ? [languageOf(stream) ?? "und", stream.codec_name, stream.channels, stream.sample_rate].join("|") : (languageOf(stream) ?? "und");
    const kept = best.get(key);
    if (!kept || Number(stream.bit_rate ?? 0) > Number(kept.stream.bit_rate ?? 0)) best.set(key, track);
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
