import { buildSprite } from "./build-sprite.ts";
import { capture } from "./capture.ts";
import { captureFrame } from "./capture-frame.ts";
import { createMp4 } from "./create-mp4.ts";
import type { WorkerExecutor } from "./executor.ts";
import { generateGif } from "./generate-gif.ts";
import { packageVod } from "./package.ts";
import { selftestWait } from "./selftest.ts";
import { trickplayTiles } from "./trickplay.ts";

/** The executors this worker runs, by the name a lease gives. */
export const workerExecutors: ReadonlyMap<string, WorkerExecutor> = new Map([
  ["selftest.wait", selftestWait],
  ["media.capture_frame", captureFrame],
  ["media.generate_gif", generateGif],
  ["media.build_sprite", buildSprite],
  ["media.create_mp4", createMp4],
  ["media.package", packageVod],
  ["media.trickplay", trickplayTiles],
  ["media.capture", capture],
]);
