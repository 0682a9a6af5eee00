import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TrickplayTaskInput } from "../../src/workflows/trickplay.ts";
import type { MadeFile, WorkerExecutor } from "./executor.ts";
import { downloadSources } from "./sources.ts";
import { imagePlaylist, makeTiles, thumbnailMpd } from "./trickplay-tiles.ts";

/** What the engine puts in the lease (src/workflows/trickplay.ts). */
type Input = TrickplayTaskInput;

/**
 * `media.trickplay`: the source folder's files downloaded through the lease, tiles of the one with the largest
 * picture (each sheet checked with ffprobe), `trickplay.m3u8` (HLS images-only) and `trickplay.mpd` (DASH
 * thumbnail adaptation set) describing them.
 */
export const trickplayTiles: WorkerExecutor = async (input, ctx) => {
  const p = input as Input;
  const sources = await downloadSources(p.sources, ctx, 40);
  const area = (probe: (typeof sources)[number]["probe"]) => Math.max(0, ...probe.streams.filter((stream) => stream.codec_type === "video").map((stream) => (stream.width ?? 0) * (stream.height ?? 0)));
  const top = [...sources].sort((a, b) => area(b.probe) - area(a.probe))[0]!;
  const out = join(ctx.scratch, "out");
  await mkdir(out);
  ctx.progress(50, "tiles");
  const tiles = await makeTiles(top.local, top.probe, p.tiles, out, ctx.signal);
  await writeFile(join(out, "trickplay.m3u8"), imagePlaylist(tiles));
  await writeFile(join(out, "trickplay.mpd"), thumbnailMpd(tiles));
  const files: MadeFile[] = [
    ...tiles.sheets.map((sheet) => ({ local: join(out, sheet), name: sheet, contentType: "image/jpeg" })),
    { local: join(out, "trickplay.m3u8"), name: "trickplay.m3u8", contentType: "application/vnd.apple.mpegurl" },
    { local: join(out, "trickplay.mpd"), name: "trickplay.mpd", contentType: "application/dash+xml" },
  ];
  ctx.progress(100, "done");
  return { output: { tiles: tiles.tiles, sheets: tiles.sheets.length, tile_width: tiles.tileWidth, tile_height: tiles.tileHeight, duration: tiles.duration }, files };
};
