import { createReadStream, createWriteStream } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { ffmpeg, ToolError } from "../tools.ts";
import { decryptTrack, type Encryption, type Track } from "./shaka.ts";

/**
 * A protected package checked before it is reported (media.md: DRM output is decrypted, not trusted): each of
 * its tracks, decrypted with its key (by shaka-packager's decryptor), gives samples identical (ffmpeg's
 * `framemd5` of the stream copied) to the same track of the clear package made from the same sources (whose
 * manifests ffprobe reads). Samples, not decoded frames: byte-identical samples decode to identical frames, and
 * hashing them takes 0.1 s where decoding 30 s of 720p takes 2.5 s (the e2e tests decode). A key the packager did not use, a track left clear or broken by the
 * encryption all fail the task.
 */
export async function checkDecryptsToClear(
  out: string,
  clearFolder: string,
  protectedFolder: string,
  tracks: Track[],
  encryption: Encryption,
  scratch: string,
  signal: AbortSignal,
  /** The clear package's sample hashes by track, shared by the checks of every scheme (hashed once). */
  clearHashes: Map<string, Promise<string[]>> = new Map(),
): Promise<void> {
  for (const track of tracks) {
    const key = encryption.keys.find((candidate) => candidate.track === track.type);
    if (!key) throw new ToolError(`no ${track.type} key for the ${encryption.scheme} package`, false);
    if (!clearHashes.has(track.id)) clearHashes.set(track.id, joinTrack(join(out, clearFolder, track.id), join(scratch, `check-clear-${track.id}.mp4`)).then((file) => sampleHashes(file, scratch, signal)));
    const clear = await clearHashes.get(track.id)!;
    const joined = await joinTrack(join(out, protectedFolder, track.id), join(scratch, `check-${encryption.scheme}-${track.id}.mp4`));
    // An encrypted sample entry (`encv` / `enca`) in the init segment: the track is not left clear.
    if (!(await readFile(join(out, protectedFolder, track.id, "init.mp4"))).includes(track.type === "VIDEO" ? "encv" : "enca")) {
      throw new ToolError(`the ${encryption.scheme} package's ${track.id} is not encrypted`, false);
    }
    const plain = join(scratch, `check-${encryption.scheme}-${track.id}.decrypted.mp4`);
    await decryptTrack(joined, track.type, key, plain, scratch, signal);
    await rm(joined, { force: true });
    const decrypted = await sampleHashes(plain, scratch, signal);
    if (decrypted.length !== clear.length || decrypted.some((hash, i) => hash !== clear[i])) {
      const at = decrypted.findIndex((hash, i) => hash !== clear[i]);
      throw new ToolError(`the ${encryption.scheme} package's ${track.id} does not decrypt to the clear package's samples (${decrypted.length} samples against ${clear.length}, first difference at sample ${at === -1 ? Math.min(decrypted.length, clear.length) : at})`, false);
    }
  }
}

/** A track's init segment and media segments in order, as one fragmented MP4 ffmpeg can decrypt. */
async function joinTrack(folder: string, target: string): Promise<string> {
  const segments = (await readdir(folder)).filter((name) => /^\d+\.m4s$/.test(name)).sort((a, b) => parseInt(a) - parseInt(b));
  const output = createWriteStream(target);
  for (const name of ["init.mp4", ...segments]) await pipeline(createReadStream(join(folder, name)), output, { end: false });
  await new Promise<void>((resolve, reject) => output.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return target;
}

/** The hash of each sample of a file's one stream, as stored (the file is removed). */
async function sampleHashes(file: string, scratch: string, signal: AbortSignal): Promise<string[]> {
  const target = join(scratch, `${file.split("/").pop()}.framemd5`);
  try {
    await ffmpeg(["-i", file, "-map", "0", "-c", "copy", "-f", "framemd5", target], { signal });
    return (await readFile(target, "utf8"))
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.slice(line.lastIndexOf(",") + 1).trim());
  } finally {
    await rm(target, { force: true });
    await rm(file, { force: true });
  }
}
