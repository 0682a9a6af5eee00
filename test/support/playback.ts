import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { serveFolder } from "./static-server";

/** Debian's Chromium (media-toolchain.md); `.ci/run` installs it. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface Playback {
  /** How far playback got (seconds). */
  currentTime: number;
  /** The video's size as the player decoded it. */
  width: number;
  height: number;
  /** Standard deviation of the luma of the frame on screen (0 for a blank frame). */
  lumaSpread: number;
  /** A PNG screenshot of the video element. */
  screenshot: Buffer;
}

/**
 * Plays an HLS playlist of a local folder in headless Chromium with hls.js from npm (no CDN): the folder is
 * served over HTTP with a small page beside it, the video plays muted until `currentTime` passes `untilS`,
 * then the frame on screen is measured (drawn to a canvas) and screenshotted.
 */
export async function playHls(folder: string, playlist: string, untilS: number): Promise<Playback> {
  const player = join(folder, "__player");
  mkdirSync(player, { recursive: true });
  copyFileSync(join(createRequire(import.meta.url).resolve("hls.js"), "..", "hls.min.js"), join(player, "hls.min.js"));
  writeFileSync(
    join(player, "index.html"),
    `<!doctype html><html><body style="margin:0;background:#000">
<video id="v" muted playsinline autoplay width="640" height="360"></video>
<script src="hls.min.js"></script>
<script>
  const video = document.getElementById("v");
  window.playerErrors = [];
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_event, data) => { if (data.fatal) window.playerErrors.push(data.type + ": " + data.details); });
  hls.loadSource(new URLSearchParams(location.search).get("src"));
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
</script></body></html>`,
  );
  const server = await serveFolder(folder);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"] });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/__player/index.html?src=${encodeURIComponent(`/${playlist}`)}`);
    // Page scripts as text: they run in the browser, whose DOM types this (Node) project does not load.
    await page.waitForFunction(
      `(() => {
        if (window.playerErrors.length > 0) throw new Error("the player failed: " + window.playerErrors.join("; "));
        return document.getElementById("v").currentTime > ${Number(untilS)};
      })()`,
      undefined,
      { timeout: 30_000, polling: 100 },
    );
    const measured = (await page.evaluate(`(() => {
      const video = document.getElementById("v");
      video.pause();
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const context = canvas.getContext("2d");
      context.drawImage(video, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let sum = 0;
      let squares = 0;
      const count = pixels.length / 4;
      for (let i = 0; i < pixels.length; i += 4) {
        const luma = 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
        sum += luma;
        squares += luma * luma;
      }
      const mean = sum / count;
      return { currentTime: video.currentTime, width: video.videoWidth, height: video.videoHeight, lumaSpread: Math.sqrt(Math.max(0, squares / count - mean * mean)) };
    })()`)) as Omit<Playback, "screenshot">;
    const screenshot = await page.locator("#v").screenshot();
    return { ...measured, screenshot };
  } finally {
    await browser.close();
    await server.stop();
  }
}
