import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { staticKeys, uuidOf } from "../../src/domain/drm";
import { listAll } from "../../src/storage/driver";
import { S3Driver } from "../../src/storage/s3";
import { psshBox, startCpixServer } from "../support/cpix-server";
import { serveFolder } from "../support/static-server";
import { playHls } from "../support/playback";
import { packagerBinary } from "../../worker/executors/shaka.ts";
import { S3_CREDENTIALS, startS3Server, type LocalServer } from "../support/storage-servers";
import { bodiesOf, isTaskCallback, jobCallbackArrived, ofJob, type Callback } from "./callbacks";
import { Engine, type Client, type JobObject } from "./harness";
import { makeSourceFile, makeTwoLanguageFile, probe } from "./media";
import { MediaWorker } from "./media-worker";
import { Receiver } from "./receiver";

/**
 * vodstream's protected packages end to end (media.md, DRM): the engine under wrangler, the reference media
 * worker as a real process running shaka-packager, keys from the static provider and from a local CPIX 2.3
 * key server, the packages published to a local S3 server and checked from there: read by ffprobe, decrypted
 * with the keys to the clear package's frames (`framemd5`), for cenc and for cbcs. Then drmswitch on the
 * output, and a search of everything the engine keeps or sends for the key bytes.
 */

const exec = promisify(execFile);
const ROOT = "content/vod";
const INPUT = "content/input";
const SEED = "e2e-static-seed-0123456789abcdef0123456789";
const KEY_HEADER = { name: "x-api-key", value: "cpix-e2e-secret" };
let folder: string;
let s3Server: LocalServer;
let store: S3Driver;
let engine: Engine;
let receiver: Receiver;
let keyServer: Awaited<ReturnType<typeof startCpixServer>>;
let staticClient: Client;
let cpixClient: Client;
let worker: MediaWorker;
/** Every key a test saw used (hex), to search for afterwards. */
const usedKeys = new Set<string>();

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "media-drm-"));
  // Two renditions, two audio languages: the upper one carries both tracks, the lower one is video only.
  await Promise.all([makeTwoLanguageFile(join(folder, "hi.mp4"), "640x360"), makeSourceFile(join(folder, "lo.mp4"), "320x180", 4, false)]);
  [s3Server, receiver, keyServer, engine] = await Promise.all([
    startS3Server(),
    Receiver.start(),
    startCpixServer(KEY_HEADER),
    Engine.start({ name: "media-drm", vars: { DRM_KEY_SECRET: "e2e-drm-key-sealing-secret" } }),
  ]);
  store = new S3Driver({ endpoint: s3Server.url, bucket: "e2e-drm", region: S3_CREDENTIALS.region, accessKeyId: S3_CREDENTIALS.accessKeyId, secretAccessKey: S3_CREDENTIALS.secretAccessKey, pathStyle: true, fetch });
  for (const name of ["hi.mp4", "lo.mp4"]) await store.put(`${INPUT}/drmsrc/${name}`, readFileSync(join(folder, name)));
  const storage = {
    default: "S3",
    locations: { S3: { driver: "s3", endpoint: s3Server.url, region: S3_CREDENTIALS.region, bucket: "e2e-drm", path_style: true, access_key_id: S3_CREDENTIALS.accessKeyId, secret_access_key: S3_CREDENTIALS.secretAccessKey, roots: { output_root: ROOT, input_root: INPUT } } },
  };
  staticClient = await engine.createClient("e2e-drm-static");
  cpixClient = await engine.createClient("e2e-drm-cpix");
  // Both clients share the bucket and its roots (the test's own two tenants): storage marked shared.
  for (const client of [staticClient, cpixClient]) {
    const shared = { ...storage, locations: { S3: { ...storage.locations.S3, shared: true } } };
    expect((await engine.admin("PUT", `/admin/clients/${client.name}/storage`, shared)).status).toBe(200);
    await engine.setSetting(client, "retry_delay", "0.2");
  }
  const seeded = await engine.admin<Record<string, unknown>>("PUT", `/admin/clients/${staticClient.name}/drm`, { provider: "static", seed: SEED });
  expect(seeded).toMatchObject({ status: 200, body: { provider: "static", seed: "********" } });
  await useKeyServer("/cpix");
  const token = await engine.admin<{ token: string }>("POST", "/admin/pools/media/tokens", { label: "e2e-drm" });
  worker = new MediaWorker(engine.url, token.body.token, { concurrency: 1 });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await engine?.destroy();
  await Promise.all([receiver?.stop(), s3Server?.stop(), keyServer?.stop()]);
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function useKeyServer(path: string, headerValue = KEY_HEADER.value): Promise<void> {
  const set = await engine.admin<Record<string, unknown>>("PUT", `/admin/clients/${cpixClient.name}/drm`, { provider: "cpix", url: `${keyServer.url}${path}`, headers: { [KEY_HEADER.name]: headerValue } });
  expect(set).toMatchObject({ status: 200, body: { provider: "cpix", headers: { [KEY_HEADER.name]: "********" } } });
}

async function run(client: Client, workflow: string, parameters: Record<string, unknown>): Promise<{ job: JobObject; callbacks: Callback[] }> {
  const path = `/${workflow}-${Math.random().toString(36).slice(2, 8)}`;
  const accepted = await engine.submit(client, workflow, { ...parameters, rest_endpoints: [receiver.url(path)] });
  await receiver.waitFor(jobCallbackArrived(accepted.id, path), 90_000, `the job callback of ${workflow}`);
  const job = await engine.waitForJob(client, accepted.id);
  return { job, callbacks: bodiesOf(ofJob(receiver.at(path), accepted.id)).sort((a, b) => a.sequence - b.sequence) };
}

/** The client's output folder mirrored locally, as a CDN would serve it. */
async function mirror(outputFolder: string): Promise<string> {
  const local = join(folder, `mirror-${outputFolder}-${Math.random().toString(36).slice(2, 6)}`);
  for await (const { key } of listAll(store, `${ROOT}/${outputFolder}/`)) {
    const object = await store.get(key);
    const file = join(local, key.slice(`${ROOT}/${outputFolder}/`.length));
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, Buffer.from(await new Response(object!.body).arrayBuffer()));
  }
  return local;
}

/** A track's init segment and media segments joined into one fragmented MP4. */
function joined(trackFolder: string): string {
  const segments = readdirSync(trackFolder).filter((name) => /^\d+\.m4s$/.test(name)).sort((a, b) => parseInt(a) - parseInt(b));
  const file = `${trackFolder}.joined.mp4`;
  writeFileSync(file, Buffer.concat(["init.mp4", ...segments].map((name) => readFileSync(join(trackFolder, name)))));
  return file;
}

/** The MD5 of each decoded frame (of the streams `map` picks), decrypted with `key` first when given. */
async function decodedFrames(file: string, key?: string, map = "0"): Promise<string[]> {
  const { stdout } = await exec("ffmpeg", ["-hide_banner", "-loglevel", "error", ...(key ? ["-decryption_key", key] : []), "-i", file, "-map", map, "-f", "framemd5", "-"], { maxBuffer: 64 << 20 });
  return stdout.split("\n").filter((line) => line && !line.startsWith("#")).map((line) => line.split(",").pop()!.trim());
}

const TRACKS = ["video_0", "video_1", "audio_0", "audio_1"];

describe("vodstream with DRM from the static provider", () => {
  let done: Callback & { message: string; files: string[] };
  let local: string;
  let drmName: string;
  let clearName: string;

  test("makes a clear package and protected cenc and cbcs packages that decrypt with the derived keys to the clear frames; the DRM manifests are active, the clear ones parked", async () => {
    const { job, callbacks } = await run(staticClient, "vodstream", { content_id: "drm1", source_folder: "drmsrc", output_folder: "drm1", drm: ["clear", "widevine", "playready", "fairplay"], create_thumbnail: false });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(callbacks.filter(isTaskCallback).filter((body) => body.event === "complete").map((body) => body.task_name)).toEqual(["get_sources", "get_drm_keys", "package", "publish", "park_earlier"]);
    done = callbacks.at(-1) as typeof done;
    expect(done.message).toMatch(new RegExp(`^${ROOT}/drm1/drm1_drm_[0-9a-f]{32}\\.m3u8$`));
    drmName = done.message.split("/").pop()!.replace(/\.m3u8$/, "");
    const parked = done.files.filter((key) => key.endsWith(".drm")).map((key) => key.split("/").pop()!);
    expect(parked).toHaveLength(2);
    const [, guid] = /^\d+_([0-9a-f]{32})_drm1\.m3u8\.drm$/.exec(parked.find((name) => name.endsWith(".m3u8.drm"))!)!;
    clearName = `drm1_nodrm_${guid}`;
    expect(done.files).toEqual(expect.arrayContaining([done.message, `${ROOT}/drm1/${drmName}.mpd`, `${ROOT}/drm1/${drmName}/cenc/manifest.mpd`, `${ROOT}/drm1/${drmName}/cbcs/master.m3u8`, `${ROOT}/drm1/${clearName}/master.m3u8`]));

    local = await mirror("drm1");
    // The active root manifests point into the protected packages: HLS into cbcs (FairPlay), DASH into cenc.
    expect(readFileSync(join(local, `${drmName}.m3u8`), "utf8")).toContain(`${drmName}/cbcs/video_0.m3u8`);
    expect(readFileSync(join(local, `${drmName}.mpd`), "utf8")).toContain(`<BaseURL>${drmName}/cenc/</BaseURL>`);
    // ffprobe reads every package: the clear one through HLS and DASH, the protected ones' streams through their manifests.
    // (ffprobe reads a protected HLS playlist's streams, though it cannot fetch its keys.)
    for (const manifest of [`${clearName}/master.m3u8`, `${clearName}/manifest.mpd`, `${drmName}/cenc/manifest.mpd`, `${drmName}/cbcs/manifest.mpd`, `${drmName}/cenc/master.m3u8`, `${drmName}/cbcs/master.m3u8`, `${drmName}.m3u8`, `${drmName}.mpd`]) {
      const read = await probe(join(local, manifest));
      const widths = read.streams.filter((stream) => stream.codec_type === "video").map((stream) => stream.width).sort();
      const languages = read.streams.filter((stream) => stream.codec_type === "audio").map((stream) => stream.tags?.language).sort();
      expect([manifest, widths, languages]).toEqual([manifest, [320, 640], ["en", "fr"]]);
    }
    expect(Math.abs(Number((await probe(join(local, `${clearName}/master.m3u8`))).format.duration) - 4)).toBeLessThanOrEqual(0.04 + 1e-6);

    // The keys, derived here as the static provider derives them, decrypt each track to the clear package's frames.
    const keys = await staticKeys(SEED, "drm1", ["cenc", "cbcs"]);
    for (const key of keys) usedKeys.add(key.key);
    for (const scheme of ["cenc", "cbcs"] as const) {
      const mpd = readFileSync(join(local, drmName, scheme, "manifest.mpd"), "utf8");
      for (const track of TRACKS) {
        const key = keys.find((candidate) => candidate.scheme === scheme && candidate.track === (track.startsWith("video") ? "VIDEO" : "AUDIO"))!;
        expect(mpd).toContain(`cenc:default_KID="${uuidOf(key.key_id)}"`);
        const clear = await decodedFrames(joined(join(local, clearName, track)));
        expect(clear.length).toBeGreaterThan(track.startsWith("video") ? 99 : 150);
        const decrypted = await decodedFrames(joined(join(local, drmName, scheme, track)), key.key);
        expect([scheme, track, decrypted]).toEqual([scheme, track, clear]);
        // Without the key, the protected track does not give the clear frames.
        const encrypted = await decodedFrames(join(local, drmName, scheme, `${track}.joined.mp4`)).catch(() => []);
        expect(encrypted).not.toEqual(clear);
      }
    }
    // Signalling: Widevine and PlayReady in the cenc MPD, FairPlay's skd:// key URI in the cbcs playlists.
    const cencMpd = readFileSync(join(local, drmName, "cenc", "manifest.mpd"), "utf8");
    expect(cencMpd).toContain("urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed");
    expect(cencMpd).toContain("urn:uuid:9a04f079-9840-4286-ab92-e65be0885f95");
    expect(readFileSync(join(local, drmName, "cbcs", "video_0.m3u8"), "utf8")).toMatch(/#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd:\/\/[^"]+",KEYFORMATVERSIONS="1",KEYFORMAT="com.apple.streamingkeydelivery"/);
  }, 180_000);

  test("the clear package plays in headless Chromium (hls.js from npm): currentTime passes 2 s and the frame on screen is not blank", async () => {
    const played = await playHls(local, `${clearName}/master.m3u8`, 2);
    expect(played.currentTime).toBeGreaterThan(2);
    // hls.js picks a rung of the ladder: either is a picture of testsrc2, full of colour bars and gradients.
    expect([[640, 360], [320, 180]]).toContainEqual([played.width, played.height]);
    expect(played.lumaSpread).toBeGreaterThan(20);
    expect(played.screenshot.length).toBeGreaterThan(5_000);
    writeFileSync(join(folder, "playback.png"), played.screenshot);
  }, 60_000);

  test("drmswitch turns DRM off and on again on that folder: the pair of root manifests switches as one, and on → off → on gives back the same active name", async () => {
    const off = await run(staticClient, "drmswitch", { content_id: "drm1", folder: "drm1", enable_drm: false });
    expect(off.job).toMatchObject({ queue_state: "completed", failed: false });
    expect((off.callbacks.at(-1) as Callback & { message: string }).message).toBe(`${ROOT}/drm1/${clearName}.m3u8`);
    const afterOff = await mirror("drm1");
    const roots = readdirSync(afterOff).filter((name) => statSync(join(afterOff, name)).isFile()).sort();
    expect(roots.filter((name) => !name.endsWith(".drm"))).toEqual([`${clearName}.m3u8`, `${clearName}.mpd`]);
    expect(roots.filter((name) => new RegExp(`^\\d+_${drmName.split("_").pop()}_drm1\\.(m3u8|mpd)\\.drm$`).test(name))).toHaveLength(2);
    // The clear manifest now active plays the clear package.
    expect((await probe(join(afterOff, `${clearName}.m3u8`))).streams.filter((stream) => stream.codec_type === "video")).toHaveLength(2);

    const on = await run(staticClient, "drmswitch", { content_id: "drm1", folder: "drm1", enable_drm: true });
    expect((on.callbacks.at(-1) as Callback & { message: string }).message).toBe(done.message);
    const afterOn = await mirror("drm1");
    expect(readFileSync(join(afterOn, `${drmName}.mpd`), "utf8")).toContain(`<BaseURL>${drmName}/cenc/</BaseURL>`);
  }, 120_000);

  test("createmp4 makes an MP4 of the folder's clear package (source_root output_root), and refuses while the protected one is active", async () => {
    const refused = await run(staticClient, "createmp4", { content_id: "drm1", source_folder: "drm1", source_root: "output_root", output_folder: "drm1-mp4" });
    expect((refused.callbacks.at(-1) as Callback & { message: string }).message).toMatch(/the VOD package in 'drm1' is protected \(drm1_drm_[0-9a-f]{32}\.m3u8 is active\)/);
    expect((await run(staticClient, "drmswitch", { content_id: "drm1", folder: "drm1", enable_drm: false })).job.failed).toBe(false);
    const { job, callbacks } = await run(staticClient, "createmp4", { content_id: "drm1", source_folder: "drm1", source_root: "output_root", output_folder: "drm1-mp4", mp4_filename: "from-package.mp4" });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect((callbacks.at(-1) as Callback & { files: string[] }).files).toEqual(["drm1-mp4/from-package.mp4"]);
    const mp4 = join(await mirror("drm1-mp4"), "from-package.mp4");
    const read = await probe(mp4);
    expect(read.streams.map((stream) => `${stream.codec_type}:${stream.width ?? ""}`).sort()).toEqual(["audio:", "video:640"]);
    expect(Math.abs(Number(read.format.duration) - 4)).toBeLessThan(0.1);
    // The package's top rung, copied: its frames are the clear package's.
    expect(await decodedFrames(mp4, undefined, "0:v")).toEqual(await decodedFrames(joined(join(local, clearName, "video_0"))));
    expect((await run(staticClient, "drmswitch", { content_id: "drm1", folder: "drm1", enable_drm: true })).job.failed).toBe(false);
  }, 120_000);
});

describe("vodstream with DRM from a CPIX key server", () => {
  test("asks the key server for a key per track type and scheme with the systems' ids and the client's header, and packages with the keys and PSSH it answered", async () => {
    const before = keyServer.requests.length;
    const { job, callbacks } = await run(cpixClient, "vodstream", { content_id: "cpix1", source_folder: "drmsrc", output_folder: "cpix1", drm: ["widevine", "fairplay"], create_thumbnail: false });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    // One request per scheme (cenc for Widevine, cbcs for FairPlay), each with the client's header.
    const asked = keyServer.requests.slice(before);
    expect(asked).toHaveLength(2);
    for (const one of asked) expect([one.contentId, one.headers[KEY_HEADER.name]]).toEqual(["cpix1", KEY_HEADER.value]);
    const request = { keys: asked.flatMap((one) => one.keys), systems: asked.flatMap((one) => one.systems) };
    expect(request.keys.map(({ scheme, track }) => `${scheme}/${track}`).sort()).toEqual(["cbcs/AUDIO", "cbcs/VIDEO", "cenc/AUDIO", "cenc/VIDEO"]);
    const kidOf = (scheme: string, track: string) => request.keys.find((key) => key.scheme === scheme && key.track === track)!.kid;
    // Widevine for each cenc key, FairPlay for each cbcs key: nothing else.
    expect(request.systems.map(({ kid, systemId }) => `${request.keys.find((key) => key.kid === kid)!.scheme}:${systemId}`).sort()).toEqual([
      "cbcs:94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
      "cbcs:94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
      "cenc:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
      "cenc:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
    ]);

    // No clear package was asked for: only the protected one is published, and it is the active one.
    const done = callbacks.at(-1) as Callback & { message: string; files: string[] };
    expect(done.message).toMatch(new RegExp(`^${ROOT}/cpix1/cpix1_drm_[0-9a-f]{32}\\.m3u8$`));
    expect(done.files.some((key) => key.includes("_nodrm_") || key.endsWith(".drm"))).toBe(false);
    const drmName = done.message.split("/").pop()!.replace(/\.m3u8$/, "");
    const local = await mirror("cpix1");
    // The key server's PSSH is in the MPD as it gave it; its FairPlay key URI in the playlists.
    const mpd = readFileSync(join(local, drmName, "cenc", "manifest.mpd"), "utf8");
    const boxes = Buffer.concat([...mpd.matchAll(/<cenc:pssh>([^<]+)<\/cenc:pssh>/g)].map((match) => Buffer.from(match[1]!, "base64")));
    for (const track of ["VIDEO", "AUDIO"]) expect(boxes.includes(psshBox("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed", kidOf("cenc", track)))).toBe(true);
    expect(readFileSync(join(local, drmName, "cbcs", "video_0.m3u8"), "utf8")).toContain(`URI="skd://keys.test/${kidOf("cbcs", "VIDEO")}",KEYFORMATVERSIONS="1",KEYFORMAT="com.apple.streamingkeydelivery"`);
    expect(readFileSync(join(local, drmName, "cbcs", "audio_1.m3u8"), "utf8")).toContain(`URI="skd://keys.test/${kidOf("cbcs", "AUDIO")}"`);
    // Each track decrypted with the key the server gave decodes to the frames of the source itself (video is
    // packaged, not re-encoded); audio decrypted with the cenc and the cbcs key gives the same frames.
    for (const scheme of ["cenc", "cbcs"]) {
      for (const track of ["VIDEO", "AUDIO"]) {
        const kid = kidOf(scheme, track);
        expect(mpd.includes(`cenc:default_KID="${kid}"`) || scheme === "cbcs").toBe(true);
        usedKeys.add(keyServer.keys.get(kid)!.toString("hex"));
      }
    }
    const hiFrames = await decodedFrames(join(folder, "hi.mp4"), undefined, "0:v");
    const audio: string[][] = [];
    for (const scheme of ["cenc", "cbcs"]) {
      const video = await decodedFrames(joined(join(local, drmName, scheme, "video_0")), keyServer.keys.get(kidOf(scheme, "VIDEO"))!.toString("hex"));
      expect([scheme, video]).toEqual([scheme, hiFrames]);
      audio.push(await decodedFrames(joined(join(local, drmName, scheme, "audio_0")), keyServer.keys.get(kidOf(scheme, "AUDIO"))!.toString("hex")));
    }
    expect(audio[0]!.length).toBeGreaterThan(150);
    expect(audio[1]).toEqual(audio[0]);
  }, 180_000);

  test("a key server that answers 500, or something that is not CPIX, fails get_drm_keys with the reason after the task's retries; a refusal fails it at once", async () => {
    for (const [path, reason] of [
      ["/500", /the key server at 127\.0\.0\.1:\d+ answered 500 Internal Server Error/],
      ["/garbage", /the key server at 127\.0\.0\.1:\d+: the key server's answer is not a CPIX document/],
    ] as const) {
      await useKeyServer(path);
      const { job, callbacks } = await run(cpixClient, "vodstream", { content_id: "cpix2", source_folder: "drmsrc", output_folder: "cpix2", drm: ["widevine"] });
      expect(job.failed).toBe(true);
      const failures = callbacks.filter(isTaskCallback).filter((body) => body.task_name === "get_drm_keys" && body.event === "fail");
      // The retry policy of get_drm_keys: three attempts, each failing with the key server's reason.
      expect(failures.length, path).toBe(3);
      for (const failure of failures) expect(JSON.stringify(failure)).toMatch(reason);
      expect((callbacks.at(-1) as Callback & { message: string }).message).toMatch(reason);
      expect(callbacks.filter(isTaskCallback).some((body) => body.task_name === "package")).toBe(false);
    }
    // A refusal (a wrong API key: 401) will not pass on a retry: one attempt, and the status in the message.
    await useKeyServer("/cpix", "wrong-key");
    const refused = await run(cpixClient, "vodstream", { content_id: "cpix3", source_folder: "drmsrc", output_folder: "cpix3", drm: ["widevine"] });
    const attempts = refused.callbacks.filter(isTaskCallback).filter((body) => body.task_name === "get_drm_keys" && body.event === "fail");
    expect(attempts).toHaveLength(1);
    expect((refused.callbacks.at(-1) as Callback & { message: string }).message).toMatch(/the key server at 127\.0\.0\.1:\d+ refused the request: 401/);
    expect(JSON.stringify(refused.callbacks)).not.toContain("wrong-key");
    await useKeyServer("/cpix");
  }, 120_000);
});

describe("vodstream's options and the trickplay workflow", () => {
  test("trickplay tiles in every package (DASH thumbnail adaptation set, HLS images-only playlist), a preview sprite + VTT and an MP4 beside the packages", async () => {
    const { job, callbacks } = await run(staticClient, "vodstream", {
      content_id: "opt1", source_folder: "drmsrc", output_folder: "opt1", drm: ["clear", "cenc"], create_thumbnail: false,
      trickplay: true, trickplay_thumbnail_size: 160, trickplay_thumbnail_interval: 1, trickplay_thumbnail_quality: 50,
      preview_thumbnails: true, preview_thumbnails_interval: 1, generate_mp4: true, mp4_filename: "opt1.mp4",
    });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    const done = callbacks.at(-1) as Callback & { message: string; files: string[] };
    expect(done.files).toEqual(expect.arrayContaining([`${ROOT}/opt1/opt1.mp4`, `${ROOT}/opt1/opt1_sprite.jpg`, `${ROOT}/opt1/opt1_thumbnails.vtt`]));
    const local = await mirror("opt1");
    const drmName = done.message.split("/").pop()!.replace(/\.m3u8$/, "");
    const clearName = readdirSync(local).find((name) => /^opt1_nodrm_[0-9a-f]{32}$/.test(name))!;
    for (const folder of [clearName, `${drmName}/cenc`]) {
      // 4 s at a tile a second: 4 tiles of 160×90 on one 5×5 sheet.
      const sheet = (await probe(join(local, folder, "trickplay", "tile_1.jpg"))).streams[0]!;
      expect([sheet.codec_name, sheet.width, sheet.height]).toEqual(["mjpeg", 800, 450]);
      expect(readdirSync(join(local, folder, "trickplay"))).toEqual(["tile_1.jpg"]);
      const playlist = readFileSync(join(local, folder, "trickplay.m3u8"), "utf8");
      expect(playlist).toContain("#EXT-X-IMAGES-ONLY");
      expect(playlist).toContain("#EXT-X-TILES:RESOLUTION=160x90,LAYOUT=5x5,DURATION=1.000\ntrickplay/tile_1.jpg");
      expect(readFileSync(join(local, folder, "master.m3u8"), "utf8")).toContain('#EXT-X-IMAGE-STREAM-INF:');
      const mpd = readFileSync(join(local, folder, "manifest.mpd"), "utf8");
      expect(mpd).toMatch(/<AdaptationSet[^>]*contentType="image" mimeType="image\/jpeg">\s*<SegmentTemplate media="trickplay\/tile_\$Number\$\.jpg" timescale="1000" duration="25000" startNumber="1"\/>\s*<Representation[^>]*width="800" height="450">\s*<EssentialProperty schemeIdUri="http:\/\/dashif.org\/thumbnail_tile" value="5x5"\/>/);
      // The package still reads as before: two videos, two audio tracks (the image set is not a stream).
      expect((await probe(join(local, folder, "manifest.mpd"))).streams.filter((stream) => stream.codec_type === "video")).toHaveLength(2);
    }
    // The active root manifests, derived from the package's, name the tiles through it.
    expect(readFileSync(join(local, `${drmName}.m3u8`), "utf8")).toContain(`URI="${drmName}/cenc/trickplay.m3u8"`);
    expect(readFileSync(join(local, `${drmName}.mpd`), "utf8")).toContain("http://dashif.org/thumbnail_tile");
    // The preview sprite: 4 tiles of 160 wide, cues back to back over the 4 s.
    expect((await probe(join(local, "opt1_sprite.jpg"))).streams[0]).toMatchObject({ width: 640, height: 90 });
    const cues = readFileSync(join(local, "opt1_thumbnails.vtt"), "utf8").split("\n").filter((line) => line.includes("-->"));
    expect(cues).toEqual(["00:00:00.000 --> 00:00:01.000", "00:00:01.000 --> 00:00:02.000", "00:00:02.000 --> 00:00:03.000", "00:00:03.000 --> 00:00:04.000"]);
    // The MP4: the best video and audio, as long as the source.
    const mp4 = await probe(join(local, "opt1.mp4"));
    expect(mp4.streams.map((stream) => `${stream.codec_type}:${stream.width ?? ""}`).sort()).toEqual(["audio:", "video:640"]);
    expect(Math.abs(Number(mp4.format.duration) - 4)).toBeLessThan(0.1);
  }, 120_000);

  test("file_properties and track_properties name and label the audio: an audio description file beside the main tracks", async () => {
    await exec("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000", "-t", "4", "-c:a", "aac", "-metadata:s:a:0", "language=eng", join(folder, "desc.m4a")]);
    for (const name of ["hi.mp4", "lo.mp4", "desc.m4a"]) await store.put(`${INPUT}/propsrc/${name}`, readFileSync(join(folder, name)));
    const { job, callbacks } = await run(staticClient, "vodstream", {
      content_id: "props1", source_folder: "propsrc", output_folder: "props1", create_thumbnail: false,
      file_properties: { "desc.m4a": { kind: "main-desc", language: "eng" } },
      apply_track_properties: true,
      track_properties: { audio: [{ language: "en", kind: "main-desc", properties: { track_name: "English (AD)" } }, { language: "en", properties: { track_name: "English", track_role: "main" } }] },
    });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    const local = await mirror("props1");
    const name = (callbacks.at(-1) as Callback & { message: string }).message.split("/").pop()!.replace(/\.m3u8$/, "");
    const media = readFileSync(join(local, name, "master.m3u8"), "utf8").split("\n").filter((line) => line.startsWith("#EXT-X-MEDIA:TYPE=AUDIO"));
    expect(media).toHaveLength(3);
    const described = media.find((line) => line.includes('NAME="English (AD)"'))!;
    expect(described).toContain('CHARACTERISTICS="public.accessibility.describes-video"');
    expect(described).toContain("DEFAULT=NO");
    expect(media.find((line) => line.includes('NAME="English"'))).toContain("DEFAULT=YES");
    const mpd = readFileSync(join(local, name, "manifest.mpd"), "utf8");
    expect(mpd).toContain('<Role schemeIdUri="urn:mpeg:dash:role:2011" value="description"/>');
    expect(mpd).toContain("<Label>English (AD)</Label>");
    expect((await probe(join(local, name, "manifest.mpd"))).streams.filter((stream) => stream.codec_type === "audio")).toHaveLength(3);
  }, 120_000);

  test("a second vodstream into the same folder parks the first one's active manifests: one active pair, and drmswitch still switches", async () => {
    const before = readdirSync(await mirror("opt1"));
    const firstActive = before.filter((name) => /^opt1_drm_[0-9a-f]{32}\.(m3u8|mpd)$/.test(name)).sort();
    expect(firstActive).toHaveLength(2);
    const again = await run(staticClient, "vodstream", { content_id: "opt1", source_folder: "drmsrc", output_folder: "opt1", drm: ["clear"], create_thumbnail: false });
    expect(again.job).toMatchObject({ queue_state: "completed", failed: false });
    const newActive = (again.callbacks.at(-1) as Callback & { message: string }).message.split("/").pop()!;
    const after = readdirSync(await mirror("opt1")).filter((name) => !name.includes(".") || /\.(m3u8|mpd|drm)$/.test(name));
    const active = after.filter((name) => /^opt1_(drm|nodrm)_[0-9a-f]{32}\.(m3u8|mpd)$/.test(name)).sort();
    expect(active).toEqual([newActive, newActive.replace(/\.m3u8$/, ".mpd")]);
    const firstGuid = firstActive[0]!.split("_").pop()!.split(".")[0]!;
    expect(after.filter((name) => new RegExp(`^\\d+_${firstGuid}_opt1\\.(m3u8|mpd)\\.drm$`).test(name))).toHaveLength(2);
    // The earlier protected package is the only DRM one: drmswitch brings it back.
    const on = await run(staticClient, "drmswitch", { content_id: "opt1", folder: "opt1", enable_drm: true });
    expect((on.callbacks.at(-1) as Callback & { message: string }).message).toBe(`${ROOT}/opt1/${firstActive.find((name) => name.endsWith(".m3u8"))}`);
  }, 120_000);

  test("the trickplay workflow publishes the tiles of a source folder's top video with trickplay.m3u8 and trickplay.mpd", async () => {
    const { job, callbacks } = await run(staticClient, "trickplay", { content_id: "tp1", source_folder: "drmsrc", output_folder: "tp1", trickplay_thumbnail_interval: 1, trickplay_thumbnail_size: 0 });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    const done = callbacks.at(-1) as Callback & { files: string[] };
    expect([...done.files].sort()).toEqual(["tp1/trickplay.m3u8", "tp1/trickplay.mpd", "tp1/trickplay/tile_1.jpg"]);
    const local = await mirror("tp1");
    // Size 0 keeps the video's: 640×360 tiles, 5×5 to the sheet.
    expect((await probe(join(local, "trickplay", "tile_1.jpg"))).streams[0]).toMatchObject({ width: 3200, height: 1800 });
    expect(readFileSync(join(local, "trickplay.mpd"), "utf8")).toMatch(/mediaPresentationDuration="PT4\.0\d\dS"[\s\S]*value="5x5"/);
    const refused = await engine.request<{ details: { path: string }[] }>("POST", "/job", { headers: staticClient.headers, body: { job: { workflow: "trickplay" }, parameters: { content_id: "x", source_folder: "drmsrc", trickplay_thumbnails: false, trickplay_thumbnail_quality: 0 } } });
    expect(refused.status).toBe(400);
    expect(refused.body.details.map((detail) => detail.path).sort()).toEqual(["parameters.trickplay_thumbnail_quality", "parameters.trickplay_thumbnails"]);
  }, 120_000);
});

describe("vodcapture", () => {
  let origin: { url: string; stop(): Promise<void> };
  let stream: string;

  beforeAll(async () => {
    // A 10 s testsrc2 stream as HLS with program-date-time, a keyframe every 2 s, served over HTTP.
    const live = join(folder, "live");
    mkdirSync(live);
    await exec("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4", "-hls_flags", "program_date_time", join(live, "index.m3u8")]);
    origin = await serveFolder(live);
    stream = `${origin.url}/index.m3u8`;
  });
  afterAll(async () => origin?.stop());

  /** Frame `n` (from the stream's first video frame) of a file as a PNG. */
  async function frameAt(file: string, n: number): Promise<string> {
    const png = join(folder, `frame-${Math.random().toString(36).slice(2, 8)}.png`);
    await exec("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", file, "-vf", `select=eq(n\\,${n})`, "-fps_mode", "vfr", "-frames:v", "1", png]);
    return png;
  }

  async function psnr(a: string, b: string): Promise<number> {
    const { stderr } = await exec("ffmpeg", ["-hide_banner", "-i", a, "-i", b, "-lavfi", "psnr", "-f", "null", "-"]);
    const value = /average:(inf|[\d.]+)/.exec(stderr)![1]!;
    return value === "inf" ? Infinity : Number(value);
  }

  /** Which of the source's frames `around` ± 2 a picture is: the one it matches best, and by how much. */
  async function whichFrame(picture: string, around: number): Promise<{ frame: number; margin: number }> {
    const scores: [number, number][] = [];
    for (let n = Math.max(0, around - 2); n <= around + 2; n++) scores.push([n, await psnr(picture, await frameAt(stream, n))]);
    scores.sort((a, b) => b[1] - a[1]);
    return { frame: scores[0]![0], margin: scores[0]![1] - scores[1]![1] };
  }

  async function frameCount(file: string): Promise<number> {
    return Number((await probe(file, true)).streams.find((s) => s.codec_type === "video")!.nb_read_frames);
  }

  test("frame-accurate: two clips joined in order, packaged and as an MP4; the output's first and last frames are the source's frames at start and end", async () => {
    const { job, callbacks } = await run(staticClient, "vodcapture", {
      content_id: "cap1", output_folder: "cap1", frame_accurate: true, generate_mp4: true, create_thumbnail: false,
      clips: [{ source: stream, start: "00:00:02.000", end: 3 }, { source: stream, start: 5.2, end: 6 }],
    });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    const done = callbacks.at(-1) as Callback & { message: string; files: string[]; metadata: { duration: number } };
    expect(done.message).toMatch(new RegExp(`^${ROOT}/cap1/cap1_nodrm_[0-9a-f]{32}\\.m3u8$`));
    const local = await mirror("cap1");
    const mp4 = join(local, "cap1.mp4");
    // 2.00..3.00 s and 5.20..6.00 s, both ends in: 26 + 21 frames at 25 fps.
    expect(await frameCount(mp4)).toBe(47);
    for (const [outputFrame, sourceFrame] of [[0, 50], [25, 75], [26, 130], [46, 150]] as const) {
      const match = await whichFrame(await frameAt(mp4, outputFrame), sourceFrame);
      expect([outputFrame, match.frame]).toEqual([outputFrame, sourceFrame]);
      expect(match.margin).toBeGreaterThan(3);
    }
    // The package plays the same clip: ffprobe reads it, as long as the MP4 within a frame.
    const hls = await probe(join(local, `${done.message.split("/").pop()}`));
    expect(Math.abs(Number(hls.format.duration) - 47 / 25)).toBeLessThanOrEqual(0.04 + 1e-6);
    expect(done.metadata.duration).toBeCloseTo(47 / 25, 1);
  }, 180_000);

  test("keyframe cuts: whole GOPs are copied, from the keyframe at or before start to the one after end (frames bit-identical to the source's); MP4 only", async () => {
    const { job, callbacks } = await run(staticClient, "vodcapture", { content_id: "cap2", output_folder: "cap2", frame_accurate: false, generate_vod: false, generate_mp4: true, clips: [{ source: stream, start: 3, end: 5 }] });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    const done = callbacks.at(-1) as Callback & { message: string; files: string[] };
    expect(done.message).toBe(`${ROOT}/cap2/cap2.mp4`);
    const mp4 = await mirror("cap2").then((local) => join(local, "cap2.mp4"));
    // Keyframes every 2 s: whole GOPs from the keyframe at or before 3 s (2.00 s, frame 50) to the frame before
    // the first keyframe after 5 s (6.00 s): frames 50..149, each bit-identical to the source's.
    const [output, source] = [await decodedFrames(mp4, undefined, "0:v"), await decodedFrames(stream, undefined, "0:v")];
    expect(output).toEqual(source.slice(50, 150));
    // Audio starts with the video (both at 0).
    const streams = JSON.parse((await exec("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,start_time", "-of", "json", mp4])).stdout).streams as { start_time: string }[];
    for (const stream of streams) expect(Number(stream.start_time)).toBeLessThan(0.03);
  }, 120_000);

  test("a protected (CENC) source is decrypted with the clip's key_id / content_key; without them the job fails", async () => {
    // A CENC-encrypted fragmented MP4 (one key), served over HTTP like the stream.
    const live = join(folder, "live");
    await exec(packagerBinary(), [`in=${join(folder, "lo.mp4")},stream=video,output=${join(live, "protected.mp4")}`, "--enable_raw_key_encryption", "--keys", `label=:key_id=${"ab".repeat(16)}:key=${"cd".repeat(16)}`, "--clear_lead", "0", "--protection_scheme", "cenc"]);
    const source = `${origin.url}/protected.mp4`;
    const { job, callbacks: capture5 } = await run(staticClient, "vodcapture", { content_id: "cap5", output_folder: "cap5", generate_vod: false, generate_mp4: true, frame_accurate: false, clips: [{ source, start: 0, end: 4, key_id: uuidOf("ab".repeat(16)), content_key: "cd".repeat(16) }] });
    expect([job.failed, (capture5.at(-1) as Callback & { message: string }).message]).toEqual([false, `${ROOT}/cap5/cap5.mp4`]);
    const mp4 = join(await mirror("cap5"), "cap5.mp4");
    expect(await decodedFrames(mp4, undefined, "0:v")).toEqual(await decodedFrames(join(folder, "lo.mp4"), undefined, "0:v"));
    // The key is a secret parameter: masked in the job's view.
    expect(JSON.stringify(job)).not.toContain("cd".repeat(16));
    const without = await run(staticClient, "vodcapture", { content_id: "cap6", output_folder: "cap6", generate_vod: false, generate_mp4: true, frame_accurate: true, clips: [{ source, start: 0, end: 1 }] });
    expect([without.job.failed, (without.callbacks.at(-1) as Callback & { message: string }).message]).toEqual([true, "clip 1's source is encrypted (CENC): give the clip's key_id and content_key"]);
  }, 120_000);

  test("clips join: silence where a re-encoded clip has no audio; copied clips that differ are refused with what differs", async () => {
    // Progressive MP4s with their index first (the test's file server answers no range requests).
    for (const name of ["lo.mp4", "hi.mp4"]) await exec("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", join(folder, name), "-map", "0", "-c", "copy", "-movflags", "+faststart", join(folder, "live", name)]);
    const mixed = await run(staticClient, "vodcapture", { content_id: "cap7", output_folder: "cap7", generate_vod: false, generate_mp4: true, clips: [{ source: `${origin.url}/lo.mp4`, start: 0, end: 1 }, { source: stream, start: 2, end: 3 }] });
    expect([mixed.job.failed, (mixed.callbacks.at(-1) as Callback & { message: string }).message]).toEqual([false, `${ROOT}/cap7/cap7.mp4`]);
    const mp4 = join(await mirror("cap7"), "cap7.mp4");
    const streams = JSON.parse((await exec("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "json", mp4])).stdout).streams as { codec_type: string; duration: string }[];
    const [video, audio] = ["video", "audio"].map((type) => Number(streams.find((s) => s.codec_type === type)!.duration));
    expect(video).toBeCloseTo(52 / 25, 1);
    expect(Math.abs(audio! - video!)).toBeLessThan(0.1);
    const copied = await run(staticClient, "vodcapture", { content_id: "cap8", output_folder: "cap8", generate_vod: false, generate_mp4: true, frame_accurate: false, clips: [{ source: stream, start: 0, end: 1 }, { source: `${origin.url}/hi.mp4`, start: 0, end: 1 }] });
    expect((copied.callbacks.at(-1) as Callback & { message: string }).message).toMatch(/clips cut on keyframes are copied and must match to join: clip 1 is h264 320x180 25\/1 fps, aac 1 ch 48000 Hz, clip 2 h264 640x360 25\/1 fps, aac 1 ch 48000 Hz; use frame_accurate/);
  }, 120_000);

  test("UTC times on a stream with program-date-time are placed from its first EXT-X-PROGRAM-DATE-TIME", async () => {
    const playlist = readFileSync(join(folder, "live", "index.m3u8"), "utf8");
    const origin0 = Date.parse(/#EXT-X-PROGRAM-DATE-TIME:(.+)/.exec(playlist)![1]!.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
    const at = (seconds: number) => new Date(origin0 + seconds * 1000).toISOString().replace("Z", "");
    const { job } = await run(staticClient, "vodcapture", { content_id: "cap3", output_folder: "cap3", generate_vod: false, generate_mp4: true, clips: [{ source: stream, start: at(4), end: at(5) }] });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    const mp4 = await mirror("cap3").then((local) => join(local, "cap3.mp4"));
    expect(await frameCount(mp4)).toBe(26);
    expect((await whichFrame(await frameAt(mp4, 0), 100)).frame).toBe(100);
    // A clip past the stream's end fails with the reason; a bad clip is refused at submission.
    const late = await run(staticClient, "vodcapture", { content_id: "cap4", output_folder: "cap4", generate_vod: false, generate_mp4: true, clips: [{ source: stream, start: 8, end: 30 }] });
    expect((late.callbacks.at(-1) as Callback & { message: string }).message).toMatch(/clip 1 ends at 30\.000 s, its stream lasts 10\.\d+ s/);
    const refused = await engine.request<{ details: { path: string }[] }>("POST", "/job", { headers: staticClient.headers, body: { job: { workflow: "vodcapture" }, parameters: { content_id: "x", output_folder: "x", generate_vod: false, clips: [{ source: "ftp://x/y.m3u8", start: 5, end: 4 }, { start: 1, end: "2018-06-06T10:00:00Z" }] } } });
    expect(refused.status).toBe(400);
    expect(refused.body.details.map((detail) => detail.path).sort()).toEqual(["parameters.clips[0].end", "parameters.clips[1].end", "parameters.clips[1].source", "parameters.generate_vod"]);
    const keyOnHls = await engine.request<{ details: { path: string; message: string }[] }>("POST", "/job", { headers: staticClient.headers, body: { job: { workflow: "vodcapture" }, parameters: { content_id: "x", output_folder: "x", clips: [{ source: stream, start: 1, end: 2, key_id: "ab".repeat(16), content_key: "cd".repeat(16) }, { source: `${origin.url}/lo.mp4`, start: "2018-06-06T10:00:00Z", end: "2018-06-06T10:00:01Z" }] } } });
    expect(keyOnHls.body.details.map((detail) => detail.path)).toEqual(["parameters.clips[0].content_key", "parameters.clips[1].start"]);
    // Keys a workflow does not declare pass through untouched, whatever their shape: never a 500.
    const stray = await engine.request("POST", "/job", { headers: staticClient.headers, body: { job: { workflow: "trickplay" }, parameters: { content_id: "x", source_folder: "drmsrc", clips: [null, { sources: "x" }], trickplay: false } } });
    expect(stray.status).toBe(400);
    const ftp = await engine.request<{ details: { path: string }[] }>("POST", "/job", { headers: staticClient.headers, body: { job: { workflow: "vodcapture" }, parameters: { content_id: "x", output_folder: "x", clips: [{ sources: [stream, "ftp://x/y.m3u8"], start: 1, end: 2 }] } } });
    expect([ftp.status, ftp.body.details.map((detail) => detail.path)]).toEqual([400, ["parameters.clips[0].sources[1]"]]);
  }, 120_000);
});

describe("DRM keys stay secret", () => {
  test("no key (hex, base64 or raw bytes) is in a callback, an API response, a job log, the engine's or the worker's output, a published file, or anything the engine stored", async () => {
    expect(usedKeys.size).toBeGreaterThanOrEqual(8);
    const forms = [...usedKeys].flatMap((hex) => [hex, hex.toUpperCase(), Buffer.from(hex, "hex").toString("base64"), Buffer.from(hex, "hex").toString("base64url")]);
    const raw = [...usedKeys].map((hex) => Buffer.from(hex, "hex"));
    const texts: [string, string][] = [
      ["callbacks", JSON.stringify(receiver.received.map((request) => ({ headers: request.headers, raw: request.raw })))],
      ["engine output", JSON.stringify(engine.workerLogs)],
      ["worker output", worker.output],
    ];
    for (const client of [staticClient, cpixClient]) {
      const jobs = await engine.request<{ id: string }[]>("GET", "/jobs?limit=100", { headers: client.headers });
      expect(jobs.body.length).toBeGreaterThan(0);
      texts.push([`GET /jobs of ${client.name}`, JSON.stringify(jobs.body)]);
      for (const { id } of jobs.body) {
        texts.push([`job ${id}`, JSON.stringify(await engine.getJob(client, id))]);
        texts.push([`logs of ${id}`, JSON.stringify(await engine.getLogs(client, id))]);
        texts.push([`deliveries of ${id}`, JSON.stringify(await engine.getCallbacks(client, id))]);
      }
      texts.push([`operator view of ${client.name}`, JSON.stringify((await engine.admin("GET", `/admin/clients/${client.name}`)).body)]);
    }
    for (const [where, text] of texts) for (const form of forms) expect(text.includes(form), `${where} holds a key`).toBe(false);
    // Published files and the engine's own persisted state (D1, Durable Objects, queues, R2), byte for byte.
    const files: [string, Buffer][] = [];
    for await (const { key } of listAll(store, "")) files.push([`s3:${key}`, Buffer.from(await new Response((await store.get(key))!.body).arrayBuffer())]);
    for (const file of walk(engine.persistTo)) files.push([file, readFileSync(file)]);
    expect(files.length).toBeGreaterThan(50);
    for (const [where, bytes] of files) {
      for (const form of [...forms.map((text) => Buffer.from(text)), ...raw]) expect(bytes.includes(form), `${where} holds a key`).toBe(false);
    }
  }, 60_000);
});

function* walk(path: string): Generator<string> {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile()) yield full;
  }
}
