import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { thumbnailsVtt } from "../../worker/executors/build-sprite.ts";

/** The reference worker's command line (worker/main.ts), run as a process: what it says before it leases anything. */

const main = join(resolve(dirname(fileURLToPath(import.meta.url)), "../.."), "worker", "main.ts");
const runWorker = (args: string[], env: Record<string, string | undefined> = process.env) =>
  spawnSync(process.execPath, ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", main, ...args], { env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 20_000 });

describe("the reference worker's command line", () => {
  it("names the missing binaries and how to install them, and exits 2", () => {
    const result = runWorker(["--engine", "http://127.0.0.1:9", "--token", "wkr_x"], { PATH: "/nonexistent" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("ffmpeg and ffprobe not found on PATH");
    expect(result.stderr).toContain("apt-get install -y --no-install-recommends ffmpeg");
  });

  it("shows its usage without an engine or a token, or with a bad concurrency", () => {
    for (const args of [[], ["--engine", "http://x"], ["--engine", "http://x", "--token", "t", "--concurrency", "0"]]) {
      const result = runWorker(args, { ...process.env, TASK_ENGINE_WORKER_TOKEN: "" });
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toContain("usage: npm run worker -- --engine URL --token wkr_…");
    }
  });
});

describe("the thumbnails VTT", () => {
  it("has one cue per tile, back to back from 0 to the duration, pointing into the right sheet and cell", () => {
    const vtt = thumbnailsVtt(12, 115.5, 10, 10, 1, 160, 90, (sheet) => (sheet === 0 ? "p_sprite.jpg" : `p_sprite_${sheet + 1}.jpg`));
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\n(\S+)$/gm)].map(([, start, end, target]) => [start, end, target]);
    expect(cues).toHaveLength(12);
    expect(cues[0]).toEqual(["00:00:00.000", "00:00:10.000", "p_sprite.jpg#xywh=0,0,160,90"]);
    expect(cues[9]).toEqual(["00:01:30.000", "00:01:40.000", "p_sprite.jpg#xywh=1440,0,160,90"]);
    expect(cues[10]).toEqual(["00:01:40.000", "00:01:50.000", "p_sprite_2.jpg#xywh=0,0,160,90"]);
    expect(cues[11]).toEqual(["00:01:50.000", "00:01:55.500", "p_sprite_2.jpg#xywh=160,0,160,90"]);
  });
});
