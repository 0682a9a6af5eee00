import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ffmpeg, ffprobe, ToolError, videoStream, type Probe } from "../tools.ts";
import type { BuildSpriteInput } from "../../src/workflows/build-thumbnails.ts";
import type { MadeFile, WorkerExecutor, WorkResult } from "./executor.ts";

/** What the engine puts in the lease (src/workflows/build-thumbnails.ts). */
type Input = BuildSpriteInput;

/**
 * `media.build_sprite`: one tile every `interval` seconds (the first frame at or after each k × interval),
 * laid out 10 wide on sprite sheets of at most `max_tiles` tiles, and a WebVTT file whose cues cover the
 * whole duration, each pointing at its tile (`sheet.jpg#xywh=x,y,w,h`).
 */
export const buildSprite: WorkerExecutor = async (input, ctx) => {
  const p = input as Input;
  const source = await ffprobe(p.source, { signal: ctx.signal });
  const made = await makeSprite(p.source, source, p, ctx.scratch, ctx.signal, (percent) => ctx.progress(percent, "extracting"));
  ctx.progress(100, "done");
  return made;
};

export interface SpriteOptions {
  interval: number;
  prefix: string;
  max_tiles: number;
  tile_width: number;
}

/** A sprite sheet (or several) and its VTT from a probed source, made in `folder`; each sheet checked with ffprobe. */
export async function makeSprite(input: string, source: Probe, p: SpriteOptions, folder: string, signal: AbortSignal, progress: (percent: number) => void): Promise<WorkResult> {
  const video = videoStream(source, "the source");
  const duration = Number(source.format.duration ?? NaN);
  if (!Number.isFinite(duration) || duration <= 0) throw new ToolError("the source has no known duration", false);
  const tiles = Math.ceil(duration / p.interval - 1e-9);
  const columns = Math.min(10, tiles);
  const perSheet = Math.min(p.max_tiles, Math.max(columns, Math.floor(p.max_tiles / columns) * columns));
  const rows = Math.ceil(Math.min(tiles, perSheet) / columns);
  const tileHeight = 2 * Math.round((p.tile_width * video.height!) / video.width! / 2);
  const select = `select='gte(t\\,selected_n*${p.interval})'`;
  const work = join(folder, "sprite");
  await mkdir(work, { recursive: true });
  progress(0);
  await ffmpeg(
    ["-i", input, "-an", "-vf", `${select},scale=${p.tile_width}:${tileHeight},tile=${columns}x${rows}`, "-fps_mode", "vfr", "-q:v", "3", join(work, "sheet_%d.jpg")],
    { signal, onTime: (seconds) => progress(Math.min(95, (100 * seconds) / duration)) },
  );
  const sheets = (await readdir(work)).filter((name) => /^sheet_\d+\.jpg$/.test(name)).sort((a, b) => sheetNumber(a) - sheetNumber(b));
  const expectedSheets = Math.ceil(tiles / (columns * rows));
  if (sheets.length !== expectedSheets) throw new ToolError(`ffmpeg made ${sheets.length} sprite sheets, expected ${expectedSheets}`, false);
  const files: MadeFile[] = [];
  for (const [i, sheet] of sheets.entries()) {
    const probe = videoStream(await ffprobe(join(work, sheet), { signal }), "a sprite sheet");
    if (probe.width !== columns * p.tile_width || probe.height !== rows * tileHeight) {
      throw new ToolError(`sprite sheet ${i + 1} is ${probe.width}×${probe.height}, expected ${columns * p.tile_width}×${rows * tileHeight}`, false);
    }
    const name = i === 0 ? `${p.prefix}_sprite.jpg` : `${p.prefix}_sprite_${i + 1}.jpg`;
    await rename(join(work, sheet), join(folder, name));
    files.push({ local: join(folder, name), name, contentType: "image/jpeg" });
  }
  const vtt = thumbnailsVtt(tiles, duration, p.interval, columns, rows, p.tile_width, tileHeight, (sheet) => files[sheet]!.name);
  const vttName = `${p.prefix}_thumbnails.vtt`;
  await writeFile(join(folder, vttName), vtt);
  files.push({ local: join(folder, vttName), name: vttName, contentType: "text/vtt" });
  return { output: { tiles, sheets: sheets.length, columns, rows, tile_width: p.tile_width, tile_height: tileHeight, duration }, files };
}

function sheetNumber(name: string): number {
  return Number(/(\d+)/.exec(name)![1]);
}

/** Cues back to back from 0 to `duration`, one per tile. */
export function thumbnailsVtt(tiles: number, duration: number, interval: number, columns: number, rows: number, width: number, height: number, sheetName: (sheet: number) => string): string {
  const lines = ["WEBVTT", ""];
  for (let k = 0; k < tiles; k++) {
    const start = k * interval;
    const end = Math.min((k + 1) * interval, duration);
    const onSheet = k % (columns * rows);
    const x = (onSheet % columns) * width;
    const y = Math.floor(onSheet / columns) * height;
    lines.push(`${timestamp(start)} --> ${timestamp(end)}`, `${sheetName(Math.floor(k / (columns * rows)))}#xywh=${x},${y},${width},${height}`, "");
  }
  return lines.join("\n");
}

function timestamp(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}.${String(ms % 1000).padStart(3, "0")}`;
}
