import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { activeManifestName, parkedManifestName, type ManifestFormat } from "../../src/domain/drm-manifests.ts";
import type { Scheme } from "../../src/domain/drm.ts";
import type { PackageInput } from "../../src/workflows/vodstream.ts";
import { audioLabels, type AudioLabels } from "../../src/domain/track-properties.ts";
import { ffmpeg, ffprobe, ToolError, type Probe, type ProbedStream } from "../tools.ts";
import { checkDecryptsToClear } from "./decrypt-check.ts";
import type { MadeFile, WorkContext, WorkerExecutor, WorkResult } from "./executor.ts";
import { packageTracks, useGivenKeyUris, type Encryption, type Track } from "./shaka.ts";
import { makeSprite } from "./build-sprite.ts";
import { makeMp4 } from "./create-mp4.ts";
import { addTilesToPackage, makeTiles } from "./trickplay-tiles.ts";
import { listFiles, noReferenceOutside } from "./manifest-references.ts";
import { downloadSources, type LocalSource } from "./sources.ts";

export { packagerBinary } from "./shaka.ts";

/** What the engine puts in the lease (src/workflows/vodstream.ts), with the keys opened by the worker API. */
type Input = PackageInput;

/**
 * `media.package` (media.md, Packages and DRM): the source folder's files downloaded through the lease, every
 * video stream kept as a rung of the ladder and the audio tracks (all, or the best per language), packaged by
 * shaka-packager as CMAF: a clear package `<content_id>_nodrm_<guid>/` and, with keys, `<content_id>_drm_<guid>/`
 * holding one package per scheme (`cenc/`, `cbcs/`), each with `master.m3u8`, `manifest.mpd` and a folder of
 * segments per stream. Root manifests `<name>.m3u8` / `.mpd` beside them point into a package: the active kind's
 * by name, the other's parked (`<epoch>_<guid>_<content_id>.m3u8.drm`) as drmswitch parks them. Everything is
 * read back before it is reported: every manifest with ffprobe (its streams, its duration within one frame of
 * the source's), and every protected package decrypted with its keys to the clear package's samples.
 */
export const packageVod: WorkerExecutor = async (input, ctx) => {
  const p = input as Input;
  encryptionsOf(p);
  return packageSources(p, await downloadSources(p.sources, ctx, 40), ctx);
};

/** The packaging options of a lease: vodstream's, or vodcapture's for the clip it captured. */
export type PackageOptions = Omit<PackageInput, "sources">;

/** Packages local source files (see packageVod); vodcapture packages the clip it captured with it. */
export async function packageSources(p: PackageOptions, downloaded: LocalSource[], ctx: WorkContext): Promise<WorkResult> {
  const encryptions = encryptionsOf(p);
  const sources: LocalSource[] = [];
  for (const { local, probe, name } of downloaded) {
    const readable = await readableByPackager(local, probe, ctx.signal);
    sources.push({ local: readable, probe: readable === local ? probe : await ffprobe(readable, { signal: ctx.signal }), name });
  }
  // The ladder, top rung first (video_0; the thumbnail is taken from it).
  const videos = sources
    .flatMap(({ local, probe }) => probe.streams.filter(isVideo).map((stream) => ({ local, stream })))
    .sort((a, b) => (b.stream.width ?? 0) * (b.stream.height ?? 0) - (a.stream.width ?? 0) * (a.stream.height ?? 0));
  if (videos.length === 0) throw new ToolError("no source has a video stream", false);
  // Each audio track labelled from its file and the client's file / track properties (domain/track-properties.ts).
  const candidates = sources.flatMap(({ local, probe, name }) =>
    probe.streams.filter((stream) => stream.codec_type === "audio").map((stream) => ({ local, stream, labels: audioLabels(name ?? null, languageOf(stream), p.file_properties, p.track_properties ?? null) })),
  );
  const audios = chooseAudio(candidates, p.all_audio_tracks);
  const names = audioNames(audios.map(({ labels }) => labels.name ?? labels.language));
  const tracks: Track[] = [
    ...videos.map(({ local, stream }, i): Track => ({ local, stream, id: `video_${i}`, type: "VIDEO" })),
    ...audios.map(({ local, stream, labels }, i): Track => ({ local, stream, id: `audio_${i}`, type: "AUDIO", hlsName: names[i], language: labels.language, role: labels.role, label: labels.label, characteristics: labels.characteristics })),
  ];
  // The default audio is a main one: never an audio description (digest §5, 2.0.4).
  const defaultLanguage = audios.filter(({ labels }) => labels.role !== "description").map(({ labels }) => labels.language).find((language) => language !== null) ?? undefined;

  const guid = () => randomUUID().replaceAll("-", "");
  const clearName = `${p.content_id}_nodrm_${guid()}`;
  const drmName = encryptions.length > 0 ? `${p.content_id}_drm_${guid()}` : null;
  const out = join(ctx.scratch, "out");
  await mkdir(out);
  ctx.progress(45, "packaging");
  // The clear package is made even when it is not published: each protected package must decrypt to it.
  await packageTracks(out, clearName, tracks, { defaultLanguage, scratch: ctx.scratch, signal: ctx.signal });
  const clearHashes = new Map<string, Promise<string[]>>();
  for (const [i, encryption] of encryptions.entries()) {
    ctx.progress(50 + (i * 30) / encryptions.length, `encrypting (${encryption.scheme})`);
    await packageTracks(out, `${drmName}/${encryption.scheme}`, tracks, { defaultLanguage, encryption, scratch: ctx.scratch, signal: ctx.signal });
    await useGivenKeyUris(out, `${drmName}/${encryption.scheme}`, tracks, encryption);
    await checkDecryptsToClear(out, clearName, `${drmName}/${encryption.scheme}`, tracks, encryption, ctx.scratch, ctx.signal, clearHashes);
  }
  // The options made from the top rung's source: trick-play tiles into every package (before the root
  // manifests are derived from the packages'), a preview sprite + VTT and an MP4 beside them.
  const top = sources.find(({ local }) => local === videos[0]!.local)!;
  if (p.trickplay) {
    ctx.progress(80, "trickplay");
    const tiles = await makeTiles(top.local, top.probe, p.trickplay, ctx.scratch, ctx.signal);
    for (const folder of [clearName, ...encryptions.map((encryption) => `${drmName}/${encryption.scheme}`)]) await addTilesToPackage(ctx.scratch, tiles, join(out, folder));
  }
  if (p.preview_thumbnails) {
    const made = await makeSprite(top.local, top.probe, { interval: p.preview_thumbnails.interval, prefix: p.content_id, max_tiles: 100, tile_width: 160 }, join(ctx.scratch, "preview"), ctx.signal, () => undefined);
    for (const file of made.files) await rename(file.local, join(out, file.name));
  }
  if (p.generate_mp4) {
    ctx.progress(82, "mp4");
    await makeMp4(sources, p.generate_mp4.mezzanine, join(out, p.generate_mp4.mp4_filename), ctx.signal, () => undefined);
  }
  ctx.progress(85, "checking");

  // The source's length: the longest of the files the ladder's rungs come from.
  const duration = Math.max(...sources.filter(({ local }) => videos.some((video) => video.local === local)).map(({ probe }) => Number(probe.format.duration ?? 0)));
  const frame = 1 / frameRate(videos[0]!.stream);
  const manifests: string[] = [];
  if (p.clear) {
    await writeRootManifests(out, clearName, clearName, clearName);
    manifests.push(`${clearName}/master.m3u8`, `${clearName}/manifest.mpd`, `${clearName}.m3u8`, `${clearName}.mpd`);
  } else {
    await rm(join(out, clearName), { recursive: true });
  }
  if (drmName) {
    const schemes = encryptions.map((encryption) => encryption.scheme);
    // HLS players that need cbcs (FairPlay) get it; DASH players get cenc when the list asks for a cenc system.
    const hls = schemes.includes("cbcs") ? "cbcs" : "cenc";
    const dash = schemes.includes("cenc") ? "cenc" : "cbcs";
    await writeRootManifests(out, drmName, `${drmName}/${hls}`, `${drmName}/${dash}`);
    manifests.push(...schemes.flatMap((scheme) => [`${drmName}/${scheme}/master.m3u8`, `${drmName}/${scheme}/manifest.mpd`]), `${drmName}.m3u8`, `${drmName}.mpd`);
  }
  await noReferenceOutside(out);
  for (const manifest of manifests) await checkManifest(join(out, manifest), manifest, { videos: videos.length, audios: audios.length, duration, frame }, ctx.signal);

  // One active pair: the protected package when asked for (or when it is the only one), else the clear one.
  const active = drmName && (p.enable_drm || !p.clear) ? drmName : clearName;
  const parked = drmName && p.clear ? (active === drmName ? clearName : drmName) : null;
  if (parked) await parkRootManifests(out, parked, p.content_id);

  if (p.thumbnail_time !== null) {
    const local = join(out, `${p.content_id}_thumbnail.jpg`);
    await ffmpeg(["-i", videos[0]!.local, "-ss", String(p.thumbnail_time), "-frames:v", "1", "-update", "1", "-q:v", "2", local], { signal: ctx.signal });
    const thumbnail = (await ffprobe(local, { signal: ctx.signal }).catch(() => null))?.streams.find(isVideo);
    if (!thumbnail) throw new ToolError(`no thumbnail at ${p.thumbnail_time} s: the source is shorter`, false);
  }
  const files: MadeFile[] = [];
  for (const local of await listFiles(out)) {
    const path = relative(out, local).split(sep).join("/");
    files.push({ local, name: path, contentType: contentType(path) });
  }
  ctx.progress(100, "packaged");
  const packages = [active, ...(parked ? [parked] : [])];
  return { output: { package: active, packages, duration, renditions: videos.length, audio_tracks: audios.length, schemes: encryptions.map((encryption) => encryption.scheme) }, files, listFiles: false };
}

const HEX16 = /^[0-9a-f]{32}$/;

/**
 * The protected packages the lease asks for, one per scheme, each with its two keys. Keys that are not 16
 * bytes of hex are refused before any of them reaches the packager's flags.
 */
function encryptionsOf(p: PackageOptions): Encryption[] {
  if (!p.drm) return [];
  const keys = p.drm.keys;
  if (!keys) throw new ToolError("the lease carries no DRM keys (the engine opens them into the lease)", false);
  return (Object.entries(p.drm.schemes) as [Scheme, string[]][]).map(([scheme, systems]) => {
    const own = keys.filter((key) => key.scheme === scheme);
    if (own.length !== 2 || !own.every((key) => HEX16.test(key.key_id) && HEX16.test(key.key))) {
      throw new ToolError(`the lease's ${scheme} keys are not one 16-byte key id and key per track type`, false);
    }
    return { scheme, keys: own, systems, signalling: p.drm!.signalling };
  });
}

/**
 * One manifest read back: ffprobe finds every stream of the package, and it lasts as long as the source
 * within one frame (ffprobe gives no duration for DASH: the MPD's own mediaPresentationDuration is what a
 * player uses).
 */
async function checkManifest(file: string, name: string, want: { videos: number; audios: number; duration: number; frame: number }, signal: AbortSignal): Promise<void> {
  const probe = await ffprobe(file, { signal });
  const found = { video: probe.streams.filter(isVideo).length, audio: probe.streams.filter((stream) => stream.codec_type === "audio").length };
  if (found.video !== want.videos || found.audio !== want.audios) {
    throw new ToolError(`${name} shows ${found.video} video and ${found.audio} audio streams, the package has ${want.videos} and ${want.audios}`, false);
  }
  const length = name.endsWith(".mpd") ? isoDuration(await readFile(file, "utf8")) : Number(probe.format.duration ?? NaN);
  if (!(Math.abs(length - want.duration) <= want.frame + 1e-6)) throw new ToolError(`${name} lasts ${length} s, the source ${want.duration} s (more than one frame apart)`, false);
}

/** A language tag as BCP 47 / ISO 639 writes it, or null (absent, `und`, or anything else a file may say). */
export function languageOf(stream: ProbedStream): string | null {
  const tag = stream.tags?.language;
  return tag !== undefined && tag !== "und" && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag) ? tag : null;
}

/** The HLS NAME of each audio rendition: its name or language, made unique within the group (RFC 8216 §4.3.4.1.1). */
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

function isVideo(stream: ProbedStream): boolean {
  return stream.codec_type === "video" && stream.disposition?.attached_pic !== 1;
}

/**
 * The audio renditions: every distinct track (all), or the highest-bitrate one of each language. Copies of one
 * track (the same audio in each rung's file, as encoders write ladders) count once: the best of them.
 */
function chooseAudio<T extends { stream: ProbedStream; labels: AudioLabels }>(tracks: T[], all: boolean): T[] {
  const best = new Map<string, T>();
  for (const track of tracks) {
    const { stream, labels } = track;
    // An audio description is never a copy of the main track of its language, nor the best of it.
    const language = `${labels.language ?? "und"}|${labels.role ?? ""}`;
    const key = all ? [language, stream.codec_name, stream.channels, stream.sample_rate].join("|") : language;
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
 * A package's root manifests `<name>.m3u8` / `.mpd` (media.md: the active package is named by a manifest at the
 * folder's root): the master playlist of `hlsFrom` with every URI made relative to the folder above it, and the
 * MPD of `dashFrom` with a BaseURL into it.
 */
async function writeRootManifests(out: string, name: string, hlsFrom: string, dashFrom: string): Promise<void> {
  const master = await readFile(join(out, hlsFrom, "master.m3u8"), "utf8");
  const hls = master
    .split("\n")
    .map((line) => (line === "" || line.startsWith("#") ? line.replace(/URI="([^"]+)"/g, (_all, uri: string) => `URI="${hlsFrom}/${uri}"`) : `${hlsFrom}/${line}`))
    .join("\n");
  await writeFile(join(out, activeManifestName(name, "m3u8")), hls);
  const mpd = await readFile(join(out, dashFrom, "manifest.mpd"), "utf8");
  const withBase = mpd.replace(/(<MPD\b[^>]*>)/, `$1\n  <BaseURL>${dashFrom}/</BaseURL>`);
  if (withBase === mpd) throw new ToolError(`the MPD of ${dashFrom} has no MPD element`, false);
  await writeFile(join(out, activeManifestName(name, "mpd")), withBase);
}

/** The inactive kind's root manifests parked under drmswitch's names (their guid kept, so a switch restores them). */
async function parkRootManifests(out: string, name: string, contentId: string): Promise<void> {
  const guid = name.slice(name.lastIndexOf("_") + 1);
  const epoch = Math.floor(Date.now() / 1000);
  for (const format of ["m3u8", "mpd"] as ManifestFormat[]) {
    await rename(join(out, activeManifestName(name, format)), join(out, parkedManifestName(epoch, guid, contentId, format)));
  }
}


function contentType(path: string): string {
  if (path.endsWith(".vtt")) return "text/vtt";
  if (path.endsWith(".m3u8")) return "application/vnd.apple.mpegurl";
  if (path.endsWith(".mpd")) return "application/dash+xml";
  if (path.endsWith(".m4s") || path.endsWith(".mp4")) return "video/mp4";
  if (path.endsWith(".jpg")) return "image/jpeg";
  return "application/octet-stream";
}
