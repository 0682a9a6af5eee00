import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** ffmpeg / ffprobe from the tests' side: making sources with lavfi, and checking what the engine published. */

const run = promisify(execFile);

/** A 10 s 640×360 25 fps H.264 + AAC source with a keyframe every 2 s, as HLS (CMAF fMP4 segments) in `folder`. */
export async function makeHlsSource(folder: string, seconds = 10): Promise<void> {
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-t", String(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac",
    "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4", `${folder}/index.m3u8`,
  ]);
}

/**
 * A 10 s 320×180 grey ramp as HLS in `folder`: each frame's brightness tells its time (luma 16 + 20 × t), so
 * a test can tell which part of the source a GIF shows, whatever its palette does to the picture.
 */
export async function makeRampSource(folder: string): Promise<void> {
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", "nullsrc=s=320x180:r=25,geq=lum='16+T*20':cb=128:cr=128",
    "-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p",
    "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4", `${folder}/index.m3u8`,
  ]);
}

/** The source time a frame of the ramp shows, from its mean luma; one per frame of `file`. */
export async function rampTimes(file: string): Promise<number[]> {
  const { stdout } = await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", file, "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-"]);
  return [...stdout.matchAll(/YAVG=([\d.]+)/g)].map((match) => (Number(match[1]) - 16) / 20);
}

/** A `seconds` long testsrc2 (+ sine, unless `audio` is false) file of the given size, in the container its name says. */
export async function makeSourceFile(file: string, size: string, seconds = 4, audio = true): Promise<void> {
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=25`, ...(audio ? ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] : []),
    "-t", String(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", ...(audio ? ["-c:a", "aac", "-shortest"] : []), file,
  ]);
}

/** A source with two audio languages (eng 440 Hz, fra 880 Hz) beside its video. */
export async function makeTwoLanguageFile(file: string, size: string, seconds = 4): Promise<void> {
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=25`, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000",
    "-t", String(seconds), "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac",
    "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-shortest", file,
  ]);
}

/** A rung of a ladder as an MKV with the English 440 Hz track as 16-bit PCM (a container and codec shaka cannot read). */
export async function makeMkvRung(file: string, size: string, seconds = 4): Promise<void> {
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=25`, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-t", String(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le",
    "-metadata:s:a:0", "language=eng", "-shortest", file,
  ]);
}

export interface ProbeStream {
  tags?: Record<string, string>;
  codec_type: string;
  codec_name: string;
  width: number;
  height: number;
  nb_read_frames?: string;
}

export async function probe(file: string, countFrames = false): Promise<{ streams: ProbeStream[]; format: { duration?: string } }> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", ...(countFrames ? ["-count_frames"] : []), file]);
  return JSON.parse(stdout);
}

/** The MD5 of each decoded frame (`-f framemd5`), as RGB so that two encoders' outputs compare. */
export async function frameMd5s(input: string, extra: string[] = []): Promise<string[]> {
  const { stdout } = await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", input, ...extra, "-pix_fmt", "rgb24", "-f", "framemd5", "-"], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split("\n").filter((line) => line && !line.startsWith("#")).map((line) => line.split(",").pop()!.trim());
}

/** Extracts one frame directly, the way a user would check it: `-ss` after `-i`, one frame, same encoder. */
export async function extractFrame(source: string, seconds: number, out: string): Promise<void> {
  await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", source, "-ss", String(seconds), "-frames:v", "1", "-update", "1", "-c:v", "mjpeg", "-q:v", "2", out]);
}
