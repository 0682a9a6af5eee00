import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ffmpeg, ffprobe, ToolError, videoStream, type Probe } from "../tools.ts";

/**
 * Trick-play image tiles (media.md: the reference's trickplay set): a JPEG frame every `interval` seconds,
 * `LAYOUT` tiles to a sheet, described for DASH by a thumbnail adaptation set (DASH-IF IOP 6.2.6: `image/jpeg`,
 * `EssentialProperty` `http://dashif.org/thumbnail_tile` = `5x5`, one segment per sheet) and for HLS by an
 * images-only playlist (`#EXT-X-IMAGES-ONLY`, `#EXT-X-TILES`) named by `#EXT-X-IMAGE-STREAM-INF`.
 */

export interface TrickplayOptions {
  /** Seconds between tiles (`trickplay_thumbnail_interval`). */
  interval: number;
  /** A tile's long edge in pixels; 0 keeps the video's size (`trickplay_thumbnail_size`). */
  size: number;
  /** JPEG quality 1-100 (`trickplay_thumbnail_quality`). */
  quality: number;
}

export interface Tiles {
  /** Sheet files, in order, relative to the folder they were made in (`trickplay/tile_1.jpg`, …). */
  sheets: string[];
  tiles: number;
  tileWidth: number;
  tileHeight: number;
  duration: number;
  interval: number;
  /** Peak bits per second of the sheets (the playlists' BANDWIDTH). */
  bandwidth: number;
}

const COLUMNS = 5;
const ROWS = 5;

/** Makes the sheets of `input` in `<folder>/trickplay/`, each checked with ffprobe. */
export async function makeTiles(input: string, source: Probe, options: TrickplayOptions, folder: string, signal: AbortSignal): Promise<Tiles> {
  const video = videoStream(source, "the source");
  // The video's own length: audio that outlasts it would count tiles ffmpeg has no frames for.
  const duration = Number(video.duration ?? source.format.duration ?? NaN);
  if (!Number.isFinite(duration) || duration <= 0) throw new ToolError("the source has no known duration", false);
  const [tileWidth, tileHeight] = tileSize(video.width!, video.height!, options.size);
  const tiles = Math.ceil(duration / options.interval - 1e-9);
  const target = join(folder, "trickplay");
  await mkdir(target, { recursive: true });
  // ffmpeg's mjpeg -q:v runs 2 (best) .. 31: quality 100 → 2, 1 → 31.
  const qscale = Math.round(31 - ((Math.min(100, Math.max(1, options.quality)) - 1) / 99) * 29);
  await ffmpeg(
    ["-i", input, "-an", "-vf", `select='gte(t\\,selected_n*${options.interval})',scale=${tileWidth}:${tileHeight},tile=${COLUMNS}x${ROWS}`, "-fps_mode", "vfr", "-q:v", String(qscale), join(target, "tile_%d.jpg")],
    { signal },
  );
  const sheets = (await readdir(target)).filter((name) => /^tile_\d+\.jpg$/.test(name)).sort((a, b) => parseInt(a.slice(5)) - parseInt(b.slice(5)));
  const expected = Math.ceil(tiles / (COLUMNS * ROWS));
  if (sheets.length !== expected) throw new ToolError(`ffmpeg made ${sheets.length} trickplay sheets, expected ${expected}`, false);
  // HLS BANDWIDTH is the peak: the largest sheet's bits over the time it covers (the last sheet's may be short).
  let bandwidth = 0;
  for (const [i, sheet] of sheets.entries()) {
    const probe = videoStream(await ffprobe(join(target, sheet), { signal }), "a trickplay sheet");
    if (probe.width !== COLUMNS * tileWidth || probe.height !== ROWS * tileHeight) throw new ToolError(`trickplay sheet ${sheet} is ${probe.width}×${probe.height}, expected ${COLUMNS * tileWidth}×${ROWS * tileHeight}`, false);
    const covers = Math.min(COLUMNS * ROWS * options.interval, duration - i * COLUMNS * ROWS * options.interval);
    bandwidth = Math.max(bandwidth, Math.ceil(((await stat(join(target, sheet))).size * 8) / Math.max(covers, 0.001)));
  }
  return { sheets: sheets.map((sheet) => `trickplay/${sheet}`), tiles, tileWidth, tileHeight, duration, interval: options.interval, bandwidth };
}

/** A tile's size: the video's, or its long edge scaled to `size` (both even, as encoders want). */
export function tileSize(width: number, height: number, size: number): [number, number] {
  if (size <= 0 || size >= Math.max(width, height)) return [width - (width % 2), height - (height % 2)];
  const even = (value: number) => Math.max(2, 2 * Math.round(value / 2));
  return width >= height ? [even(size), even((size * height) / width)] : [even((size * width) / height), even(size)];
}

/** The HLS images-only playlist of the sheets (one segment per sheet). */
export function imagePlaylist(tiles: Tiles): string {
  const perSheet = COLUMNS * ROWS * tiles.interval;
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", `#EXT-X-TARGETDURATION:${Math.ceil(Math.min(perSheet, tiles.duration))}`, "#EXT-X-MEDIA-SEQUENCE:1", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-IMAGES-ONLY"];
  tiles.sheets.forEach((sheet, i) => {
    const length = Math.min(perSheet, tiles.duration - i * perSheet);
    lines.push(`#EXTINF:${length.toFixed(3)},`, `#EXT-X-TILES:RESOLUTION=${tiles.tileWidth}x${tiles.tileHeight},LAYOUT=${COLUMNS}x${ROWS},DURATION=${tiles.interval.toFixed(3)}`, sheet);
  });
  lines.push("#EXT-X-ENDLIST", "");
  return lines.join("\n");
}

/** The master playlist line naming the images-only playlist. */
export function imageStreamInf(tiles: Tiles, uri: string): string {
  return `#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=${tiles.bandwidth},RESOLUTION=${tiles.tileWidth}x${tiles.tileHeight},CODECS="jpeg",URI="${uri}"`;
}

/** The DASH thumbnail adaptation set of the sheets (DASH-IF IOP 6.2.6). */
export function thumbnailAdaptationSet(tiles: Tiles): string {
  return [
    `    <AdaptationSet id="1000" contentType="image" mimeType="image/jpeg">`,
    `      <SegmentTemplate media="trickplay/tile_$Number$.jpg" timescale="1000" duration="${Math.round(COLUMNS * ROWS * tiles.interval * 1000)}" startNumber="1"/>`,
    `      <Representation id="thumbnails" bandwidth="${tiles.bandwidth}" width="${COLUMNS * tiles.tileWidth}" height="${ROWS * tiles.tileHeight}">`,
    `        <EssentialProperty schemeIdUri="http://dashif.org/thumbnail_tile" value="${COLUMNS}x${ROWS}"/>`,
    `      </Representation>`,
    `    </AdaptationSet>`,
  ].join("\n");
}

/** A standalone MPD holding only the thumbnail adaptation set (the trickplay workflow's output). */
export function thumbnailMpd(tiles: Tiles): string {
  const seconds = tiles.duration.toFixed(3);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" minBufferTime="PT2S" mediaPresentationDuration="PT${seconds}S">`,
    `  <Period id="0">`,
    thumbnailAdaptationSet(tiles),
    `  </Period>`,
    `</MPD>`,
    ``,
  ].join("\n");
}

/**
 * Adds the tiles to a package folder made by shaka-packager: the sheets copied into `<package>/trickplay/`,
 * `trickplay.m3u8` beside `master.m3u8`, which names it, and the adaptation set in `manifest.mpd`.
 */
export async function addTilesToPackage(madeIn: string, tiles: Tiles, packageFolder: string): Promise<void> {
  await mkdir(join(packageFolder, "trickplay"), { recursive: true });
  for (const sheet of tiles.sheets) await copyFile(join(madeIn, sheet), join(packageFolder, sheet));
  await writeFile(join(packageFolder, "trickplay.m3u8"), imagePlaylist(tiles));
  const master = join(packageFolder, "master.m3u8");
  await writeFile(master, `${(await readFile(master, "utf8")).trimEnd()}\n\n${imageStreamInf(tiles, "trickplay.m3u8")}\n`);
  const mpd = join(packageFolder, "manifest.mpd");
  const text = await readFile(mpd, "utf8");
  const withTiles = text.replace(/(\n\s*<\/Period>)/, `\n${thumbnailAdaptationSet(tiles)}$1`);
  if (withTiles === text) throw new ToolError(`${mpd} has no Period to add the trickplay adaptation set to`, false);
  await writeFile(mpd, withTiles);
}
