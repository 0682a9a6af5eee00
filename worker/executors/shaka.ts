import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ContentKey, Scheme, SystemSignalling } from "../../src/domain/drm.ts";
import { run, ToolError, type ProbedStream } from "../tools.ts";

/** shaka-packager's binary for this platform, from the pinned npm package (media-toolchain.md). */
export function packagerBinary(): string {
  const names: Record<string, string> = { "linux-x64": "packager-linux-x64", "linux-arm64": "packager-linux-arm64", "darwin-x64": "packager-osx-x64", "darwin-arm64": "packager-osx-arm64", "win32-x64": "packager-win-x64.exe" };
  const name = names[`${process.platform}-${process.arch}`];
  if (!name) throw new ToolError(`shaka-packager has no binary for ${process.platform}/${process.arch}`, false);
  return join(dirname(createRequire(import.meta.url).resolve("shaka-packager/package.json")), "bin", name);
}

const SEGMENT_SECONDS = 2;

/** One stream of the package: `video_<n>` or `audio_<n>` in every package made of the same tracks. */
export interface Track {
  local: string;
  stream: ProbedStream;
  /** `video_0` (the top rung), `audio_1`…: the stream's folder and playlist name. */
  id: string;
  type: "VIDEO" | "AUDIO";
  /** Audio: the HLS rendition NAME and the checked language tag. */
  hlsName?: string;
  language?: string | null;
  /** Audio: DASH Role and Label, HLS CHARACTERISTICS (domain/track-properties.ts; checked text). */
  role?: string | null;
  label?: string | null;
  characteristics?: string[];
}

/** A package's encryption: its scheme, its keys (one per track type), the systems it signals. */
export interface Encryption {
  scheme: Scheme;
  keys: ContentKey[];
  systems: string[];
  signalling: SystemSignalling[];
}

const SHAKA_SYSTEM: Record<string, string> = { widevine: "Widevine", playready: "PlayReady", fairplay: "FairPlay", cenc: "CommonSystem" };

/**
 * Packages the tracks as CMAF into `<out>/<folder>/`: one folder of segments per track, `master.m3u8` and
 * `manifest.mpd`. With an encryption, shaka-packager encrypts in raw-key mode from the first sample (no clear
 * lead), its keys in a flag file (withFlagFile). PSSH boxes a key server gave are used as given; shaka makes
 * the others.
 */
export async function packageTracks(out: string, folder: string, tracks: Track[], options: { defaultLanguage?: string; encryption?: Encryption; scratch: string; signal: AbortSignal }): Promise<void> {
  const descriptors = tracks.map(({ local, stream, id, type, hlsName, language, role, label, characteristics }) => {
    // Only checked text goes into the descriptor: a language tag from the client's file, labels the API
    // checked; shaka reads `,` and `=` in them as more descriptor fields (output paths anywhere on this machine).
    const labels = `${role ? `,dash_roles=${role}` : ""}${label ? `,dash_label=${label}` : ""}${characteristics?.length ? `,hls_characteristics=${characteristics.join(";")}` : ""}`;
    const audio = type === "AUDIO" ? `,hls_group_id=audio,hls_name=${hlsName}${language ? `,language=${language}` : ""}${labels}` : "";
    const keyLabel = options.encryption ? `,drm_label=${type}` : "";
    return `in=${local},stream=${stream.index},init_segment=${folder}/${id}/init.mp4,segment_template=${folder}/${id}/$Number$.m4s,playlist_name=${id}.m3u8${audio}${keyLabel}`;
  });
  const args = [...descriptors, "--segment_duration", String(SEGMENT_SECONDS), "--generate_static_live_mpd", "--hls_playlist_type", "VOD"];
  if (options.defaultLanguage) args.push("--default_language", options.defaultLanguage);
  args.push("--hls_master_playlist_output", `${folder}/master.m3u8`, "--mpd_output", `${folder}/manifest.mpd`);
  if (!options.encryption) return run(packagerBinary(), args, { cwd: out, signal: options.signal });
  await withFlagFile(options.scratch, `keys-${options.encryption.scheme}`, encryptionFlags(options.encryption), (flags) => run(packagerBinary(), [...args, flags], { cwd: out, signal: options.signal }));
}

/**
 * One track of a protected package (its init and media segments joined) decrypted by shaka-packager in
 * raw-key mode into `target`. (ffmpeg 5.1's CENC decryption fails on subsamples of large frames, seen on
 * 720p: "subsample size exceeds the packet size left".)
 */
export async function decryptTrack(joined: string, type: "VIDEO" | "AUDIO", key: ContentKey, target: string, scratch: string, signal: AbortSignal): Promise<void> {
  const flags = ["--enable_raw_key_decryption", `--keys=label=:key_id=${key.key_id}:key=${key.key}`, ""].join("\n");
  await withFlagFile(scratch, `decrypt-${key.key_id}`, flags, (file) => run(packagerBinary(), [`in=${joined},stream=${type === "VIDEO" ? "video" : "audio"},output=${target}`, file], { cwd: scratch, signal }));
}

/**
 * Runs `use` with `--flagfile=<file>` holding `content`: keys go to shaka-packager in a file readable only by
 * this user and removed at once, never on its command line (where `ps` would show them).
 */
async function withFlagFile(scratch: string, name: string, content: string, use: (flag: string) => Promise<void>): Promise<void> {
  const file = join(scratch, `${name}.flags`);
  try {
    await writeFile(file, content, { mode: 0o600 });
    await chmod(file, 0o600);
    await use(`--flagfile=${file}`);
  } finally {
    await rm(file, { force: true });
  }
}

/** shaka-packager's raw-key flags for one package, one per line (a flag file). */
export function encryptionFlags({ scheme, keys, systems, signalling }: Encryption): string {
  const given = signalling.filter((entry) => entry.scheme === scheme && entry.pssh && systems.includes(entry.system));
  const generated = systems.filter((system) => system === "fairplay" || !given.some((entry) => entry.system === system)).map((system) => SHAKA_SYSTEM[system]!);
  const pssh = given.map((entry) => Buffer.from(entry.pssh!, "base64").toString("hex")).join("");
  return [
    "--enable_raw_key_encryption",
    `--keys=${keys.map((key) => `label=${key.track}:key_id=${key.key_id}:key=${key.key}`).join(",")}`,
    `--protection_scheme=${scheme}`,
    "--clear_lead=0",
    ...(generated.length > 0 ? [`--protection_systems=${generated.join(",")}`] : []),
    ...(pssh ? [`--pssh=${pssh}`] : []),
    "",
  ].join("\n");
}

/**
 * The FairPlay key URIs a key server gave (CPIX `URIExtXKey`), one per key, put into the package's media
 * playlists in place of shaka's `skd://<key id>`: shaka takes one `--hls_key_uri` for all keys, and a key
 * server names each key on its own. Tracks whose key has no given URI keep shaka's.
 */
export async function useGivenKeyUris(out: string, folder: string, tracks: Track[], encryption: Encryption): Promise<void> {
  for (const track of tracks) {
    const key = encryption.keys.find((candidate) => candidate.track === track.type);
    const uri = encryption.signalling.find((entry) => entry.scheme === encryption.scheme && entry.system === "fairplay" && entry.key_id === key?.key_id)?.hls_key_uri;
    if (!uri) continue;
    // A URI goes between quotes in the tag: one that could end them is not used.
    if (/["\r\n]/.test(uri)) throw new ToolError("the key server's FairPlay key URI has a quote or a line break", false);
    const playlist = join(out, folder, `${track.id}.m3u8`);
    const text = await readFile(playlist, "utf8");
    let replaced = 0;
    const rewritten = text.replace(/^(#EXT-X-KEY:.*?URI=")[^"]*(".*KEYFORMAT="com\.apple\.streamingkeydelivery".*)$/gm, (_all, head: string, tail: string) => {
      replaced++;
      return `${head}${uri}${tail}`;
    });
    if (replaced === 0) throw new ToolError(`${folder}/${track.id}.m3u8 has no FairPlay key tag to carry the key server's key URI`, false);
    await writeFile(playlist, rewritten);
  }
}
