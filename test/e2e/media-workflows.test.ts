import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { listAll } from "../../src/storage/driver";
import { S3Driver } from "../../src/storage/s3";
import { serveFolder } from "../support/static-server";
import { S3_CREDENTIALS, startS3Server, type LocalServer } from "../support/storage-servers";
import { bodiesOf, isJobCallback, isTaskCallback, jobCallbackArrived, ofJob, type Callback } from "./callbacks";
import { Engine, type Client, type JobObject } from "./harness";
import { moovFirst } from "../../worker/executors/create-mp4.ts";
import { extractFrame, frameMd5s, makeHlsSource, makeMkvRung, makeRampSource, makeSourceFile, makeTwoLanguageFile, probe, rampTimes } from "./media";
import { MediaWorker } from "./media-worker";
import { Receiver } from "./receiver";

/**
 * capture_frame, generate_gif and build_thumbnails end to end (media.md): the engine under wrangler, the
 * reference media worker as a real process running ffmpeg, a lavfi source served as HLS by a local HTTP
 * server, the outputs published to a local S3 server and read back from there with ffprobe. Then the lease
 * protocol under failure: a worker killed mid-task, a job broken while its task is leased.
 */

const ROOT = "content/vod";
/** The client's input root: where `source_folder`s are (media.md, Sources). */
const INPUT = "content/input";
let folder: string;
let source: { url: string; stop(): Promise<void> };
let s3Server: LocalServer;
let store: S3Driver;
let engine: Engine;
let receiver: Receiver;
let client: Client;
let worker: MediaWorker;
let sourceUrl: string;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "media-e2e-"));
  await makeHlsSource(folder);
  mkdirSync(join(folder, "ramp"));
  await makeRampSource(join(folder, "ramp"));
  [source, s3Server, receiver, engine] = await Promise.all([
    serveFolder(folder),
    startS3Server(),
    Receiver.start(),
    // Short worker leases (heartbeats every second), so a lost worker is noticed in seconds.
    Engine.start({ name: "media", vars: { WORKER_LEASE_MS: "3000", LEASE_GRACE_MS: "1000" } }),
  ]);
  sourceUrl = `${source.url}/index.m3u8`;
  store = new S3Driver({ endpoint: s3Server.url, bucket: "e2e-media", region: S3_CREDENTIALS.region, accessKeyId: S3_CREDENTIALS.accessKeyId, secretAccessKey: S3_CREDENTIALS.secretAccessKey, pathStyle: true, fetch });
  client = await engine.createClient("e2e-media");
  await engine.setSetting(client, "retry_delay", "0.2");
  await engine.setSetting(client, "max_jobs", "10");
  const configured = await engine.admin("PUT", `/admin/clients/${client.name}/storage`, {
    default: "S3",
    locations: {
      S3: { driver: "s3", endpoint: s3Server.url, region: S3_CREDENTIALS.region, bucket: "e2e-media", path_style: true, access_key_id: S3_CREDENTIALS.accessKeyId, secret_access_key: S3_CREDENTIALS.secretAccessKey, roots: { output_root: ROOT, input_root: INPUT } },
    },
  });
  expect(configured.status).toBe(200);
  worker = new MediaWorker(engine.url, await poolToken("media"), { concurrency: 2 });
});

afterAll(async () => {
  await worker?.stop();
  await engine?.destroy();
  await Promise.all([receiver?.stop(), s3Server?.stop(), source?.stop()]);
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function poolToken(pool: string): Promise<string> {
  const created = await engine.admin<{ token: string }>("POST", `/admin/pools/${pool}/tokens`, { label: "e2e" });
  expect(created.status).toBe(201);
  return created.body.token;
}

/** Submits a job, waits for its job callback, returns the job and its callbacks in sequence order. */
async function run(workflow: string, parameters: Record<string, unknown>): Promise<{ job: JobObject; callbacks: Callback[] }> {
  const path = `/${workflow}-${Math.random().toString(36).slice(2, 8)}`;
  const accepted = await engine.submit(client, workflow, { ...parameters, rest_endpoints: [receiver.url(path)] });
  await receiver.waitFor(jobCallbackArrived(accepted.id, path), 60_000, `the job callback of ${workflow}`);
  const job = await engine.waitForJob(client, accepted.id);
  return { job, callbacks: bodiesOf(ofJob(receiver.at(path), accepted.id)).sort((a, b) => a.sequence - b.sequence) };
}

/** A published file, read back from the client's storage into a local file. */
async function download(key: string): Promise<string> {
  const object = await store.get(key);
  expect(object, key).not.toBeNull();
  const local = join(folder, `out-${Math.random().toString(36).slice(2, 8)}-${key.split("/").pop()}`);
  writeFileSync(local, Buffer.from(await new Response(object!.body).arrayBuffer()));
  return local;
}

describe("capture_frame", () => {
  test("publishes the frame at frame_time: the same frame a direct extraction gives, not its neighbour", async () => {
    const { job, callbacks } = await run("capture_frame", { content_id: "cf", source: sourceUrl, frame_time: "00:00:07.0400000", output_folder: "cf/images", image_filename: "frame.jpg" });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(callbacks.filter(isTaskCallback).map((body) => `${body.task_name}:${body.event}`)).toEqual(["capture_frame:start", "capture_frame:complete", "publish:start", "publish:complete"]);
    expect(callbacks.at(-1)).toMatchObject({ status: "completed", message: "frame.jpg", files: ["cf/images/frame.jpg"] });
    const published = await download(`${ROOT}/cf/images/frame.jpg`);
    const stream = (await probe(published)).streams[0]!;
    expect(stream).toMatchObject({ codec_name: "mjpeg", width: 640, height: 360 });
    const [at, next] = [join(folder, "direct-7.04.jpg"), join(folder, "direct-7.08.jpg")];
    await extractFrame(sourceUrl, 7.04, at);
    await extractFrame(sourceUrl, 7.08, next);
    const [mine, direct, neighbour] = await Promise.all([frameMd5s(published), frameMd5s(at), frameMd5s(next)]);
    expect(direct).not.toEqual(neighbour);
    expect(mine).toEqual(direct);
  });
});

describe("generate_gif", () => {
  test("publishes duration × fps frames at the asked width (height from the aspect ratio), looping forever", async () => {
    const { job, callbacks } = await run("generate_gif", { content_id: "gif", source: sourceUrl, start_at: 2, duration: 2.5, fps: 10, width: 320, output_folder: "gif", gif_filename: "clip.gif" });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(callbacks.at(-1)).toMatchObject({ status: "completed", message: "clip.gif", files: ["gif/clip.gif"] });
    const published = await download(`${ROOT}/gif/clip.gif`);
    const stream = (await probe(published, true)).streams[0]!;
    expect(stream).toMatchObject({ codec_name: "gif", width: 320, height: 180 });
    expect(Math.abs(Number(stream.nb_read_frames) - 25)).toBeLessThanOrEqual(1);
    // playback_loop 0: the NETSCAPE2.0 application extension with a loop count of 0 (forever).
    const bytes = readFileSync(published);
    const netscape = bytes.indexOf("NETSCAPE2.0");
    expect(netscape).toBeGreaterThan(0);
    expect(bytes.readUInt16LE(netscape + 13)).toBe(0);
  });

  test("without width or height makes it 480 high; playback_loop -1 plays it once (no loop extension)", async () => {
    const { job } = await run("generate_gif", { content_id: "gif2", source: sourceUrl, start_at: "00:00:01", duration: 1, fps: 5, playback_loop: -1, reverse: true, output_folder: "gif2", gif_filename: "once.gif" });
    expect(job.failed).toBe(false);
    const published = await download(`${ROOT}/gif2/once.gif`);
    const stream = (await probe(published, true)).streams[0]!;
    expect(stream).toMatchObject({ width: 854, height: 480 });
    expect(Math.abs(Number(stream.nb_read_frames) - 5)).toBeLessThanOrEqual(1);
    expect(readFileSync(published).indexOf("NETSCAPE2.0")).toBe(-1);
  });
});

describe("generate_gif on a source whose brightness tells the time", () => {
  test("shows start_at .. start_at + duration: forward, reversed, and sped up (same frames, shorter delays)", async () => {
    const ramp = `${source.url}/ramp/index.m3u8`;
    const gif = async (name: string, extra: Record<string, unknown>) => {
      const { job } = await run("generate_gif", { content_id: name, source: ramp, start_at: 2, duration: 2.5, fps: 10, output_folder: "ramp", gif_filename: `${name}.gif`, ...extra });
      expect(job.failed, name).toBe(false);
      const local = await download(`${ROOT}/ramp/${name}.gif`);
      return { times: await rampTimes(local), duration: Number((await probe(local)).format.duration) };
    };
    const forward = await gif("forward", {});
    expect(forward.times).toHaveLength(25);
    // Within a quarter of a second of the asked times (the palette shifts brightness a little).
    expect(Math.abs(forward.times[0]! - 2)).toBeLessThan(0.25);
    expect(Math.abs(forward.times.at(-1)! - 4.4)).toBeLessThan(0.25);
    expect(forward.duration).toBeCloseTo(2.5, 1);
    const reversed = await gif("reversed", { reverse: true });
    expect(Math.abs(reversed.times[0]! - 4.4)).toBeLessThan(0.25);
    expect(Math.abs(reversed.times.at(-1)! - 2)).toBeLessThan(0.25);
    const fast = await gif("fast", { playback_speed: 2 });
    expect(fast.times).toHaveLength(25);
    expect(Math.abs(fast.times[0]! - 2)).toBeLessThan(0.25);
    expect(Math.abs(fast.times.at(-1)! - 4.4)).toBeLessThan(0.25);
    expect(fast.duration).toBeCloseTo(1.25, 1);
  });
});

describe("build_thumbnails", () => {
  test("publishes a sprite of one 160-wide tile per interval and a VTT whose cues cover the duration without gaps", async () => {
    const { job, callbacks } = await run("build_thumbnails", { content_id: "th", source: sourceUrl, preview_thumbnails_interval: 3, output_folder: "th/preview" });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    const files = ["th/preview/th_sprite.jpg", "th/preview/th_thumbnails.vtt"];
    expect(callbacks.at(-1)).toMatchObject({ status: "completed", files, message: files.join(", ") });
    const sprite = (await probe(await download(`${ROOT}/th/preview/th_sprite.jpg`))).streams[0]!;
    // 10 s every 3 s: 4 tiles in one row, each 160×90.
    expect(sprite).toMatchObject({ codec_name: "mjpeg", width: 4 * 160, height: 90 });
    const vtt = readFileSync(await download(`${ROOT}/th/preview/th_thumbnails.vtt`), "utf8");
    expect(vtt.startsWith("WEBVTT")).toBe(true);
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\n(\S+)$/gm)].map(([, start, end, target]) => ({ start: seconds(start!), end: seconds(end!), target }));
    expect(cues.map((cue) => cue.target)).toEqual([0, 1, 2, 3].map((i) => `th_sprite.jpg#xywh=${i * 160},0,160,90`));
    expect(cues[0]!.start).toBe(0);
    for (let i = 1; i < cues.length; i++) expect(cues[i]!.start, `cue ${i}`).toBe(cues[i - 1]!.end);
    expect(cues.at(-1)!.end).toBeCloseTo(10, 1);
  });
});

describe("createmp4", () => {
  test("makes one +faststart MP4 of a source folder's best video and audio; with mezzanine, every video track", async () => {
    await makeSourceFile(join(folder, "big.mp4"), "640x360");
    await makeSourceFile(join(folder, "small.ts"), "320x180");
    await store.put(`${INPUT}/mp4src/big.mp4`, readFileSync(join(folder, "big.mp4")));
    await store.put(`${INPUT}/mp4src/small.ts`, readFileSync(join(folder, "small.ts")));
    await store.put(`${INPUT}/mp4src/notes.txt`, "not media");
    const { job, callbacks } = await run("createmp4", { content_id: "mp4", source_folder: "mp4src", output_folder: "mp4out" });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(callbacks.filter(isTaskCallback).map((body) => `${body.task_name}:${body.event}`)).toEqual([
      "get_sources:start", "get_sources:complete", "create_mp4:start", "create_mp4:complete", "publish:start", "publish:complete",
    ]);
    expect(callbacks.at(-1)).toMatchObject({ status: "completed", message: "mp4.mp4", files: ["mp4out/mp4.mp4"] });
    const mp4 = await download(`${ROOT}/mp4out/mp4.mp4`);
    const made = await probe(mp4);
    expect(made.streams.map((stream) => [stream.codec_type, stream.codec_name, stream.width ?? null])).toEqual([["video", "h264", 640], ["audio", "aac", null]]);
    expect(Number(made.format.duration)).toBeCloseTo(4, 1);
    expect(await moovFirst(mp4)).toBe(true);

    const mezzanine = await run("createmp4", { content_id: "mez", source_folder: "mp4src", output_folder: "mp4out", mp4_filename: "mezzanine.mp4", mezzanine: true });
    expect(mezzanine.job.failed).toBe(false);
    const all = await probe(await download(`${ROOT}/mp4out/mezzanine.mp4`));
    expect(all.streams.filter((stream) => stream.codec_type === "video").map((stream) => stream.width).sort()).toEqual([320, 640]);
  });

  test("fails early, naming the folder, when the source folder has no media", async () => {
    await store.put(`${INPUT}/empty-src/readme.txt`, "nothing to see");
    const { job, callbacks } = await run("createmp4", { content_id: "none", source_folder: "empty-src" });
    expect(job).toMatchObject({ queue_state: "completed", failed: true });
    expect(callbacks.at(-1)).toMatchObject({ status: "failed", message: expect.stringContaining("no sources found in folder 'empty-src'") });
  });
});

describe("vodstream (clear)", () => {
  test("packages a three-rung ladder (MP4, MP4, MKV with PCM audio) and two audio languages as CMAF HLS + DASH with the active root manifests, read back whole", async () => {
    await makeTwoLanguageFile(join(folder, "vod-hi.mp4"), "640x360");
    // The lower rung of the ladder: video only (the audio tracks come with the upper one). A middle rung in MKV
    // with PCM audio, a copy of the English track: remuxed for the packager, and its audio counted once.
    await makeSourceFile(join(folder, "vod-lo.mp4"), "320x180", 4, false);
    await makeMkvRung(join(folder, "vod-mid.mkv"), "480x270");
    await store.put(`${INPUT}/vodsrc/mid.mkv`, readFileSync(join(folder, "vod-mid.mkv")));
    await store.put(`${INPUT}/vodsrc/hi.mp4`, readFileSync(join(folder, "vod-hi.mp4")));
    await store.put(`${INPUT}/vodsrc/lo.mp4`, readFileSync(join(folder, "vod-lo.mp4")));
    const { job, callbacks } = await run("vodstream", { content_id: "vod1", source_folder: "vodsrc", output_folder: "vod1", thumbnail_time: 1 });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    const done = callbacks.at(-1) as Callback & { message: string; files: string[]; metadata: { duration: number } };
    expect(done.message).toMatch(new RegExp(`^${ROOT}/vod1/vod1_nodrm_[0-9a-f]{32}\\.m3u8$`));
    expect(done.metadata.duration).toBeCloseTo(4, 1);
    const name = done.message.split("/").pop()!.replace(/\.m3u8$/, "");
    expect(done.files).toEqual(expect.arrayContaining([done.message, `${ROOT}/vod1/${name}.mpd`, `${ROOT}/vod1/${name}/master.m3u8`, `${ROOT}/vod1/${name}/manifest.mpd`, `${ROOT}/vod1/vod1_thumbnail.jpg`]));
    // `files` lists the manifests, playlists and the thumbnail; the segments are published beside them, unlisted.
    expect(done.files.every((key) => !key.endsWith(".m4s"))).toBe(true);
    // The published package, mirrored locally as a CDN would serve it, is read by ffmpeg through each manifest.
    const mirror = join(folder, "vod-mirror");
    for await (const { key } of listAll(store, `${ROOT}/vod1/`)) {
      const object = await store.get(key);
      const local = join(mirror, key.slice(`${ROOT}/vod1/`.length));
      mkdirSync(join(local, ".."), { recursive: true });
      writeFileSync(local, Buffer.from(await new Response(object!.body).arrayBuffer()));
    }
    for (const manifest of [`${name}.m3u8`, `${name}.mpd`, `${name}/master.m3u8`, `${name}/manifest.mpd`]) {
      const read = await probe(join(mirror, manifest));
      const videos = read.streams.filter((stream) => stream.codec_type === "video").map((stream) => stream.width).sort();
      const languages = read.streams.filter((stream) => stream.codec_type === "audio").map((stream) => stream.tags?.language).sort();
      expect([manifest, videos, languages]).toEqual([manifest, [320, 480, 640], ["en", "fr"]]);
    }
    const hls = await probe(join(mirror, `${name}.m3u8`));
    // Durations match within one frame interval (25 fps).
    expect(Math.abs(Number(hls.format.duration) - 4)).toBeLessThanOrEqual(0.04 + 1e-6);
    expect((await probe(join(mirror, "vod1_thumbnail.jpg"))).streams[0]).toMatchObject({ codec_name: "mjpeg", width: 640 });
  });

  test("with delete_source, deletes the source files it packaged once the package is published, and nothing else", async () => {
    await store.put(`${INPUT}/deleted-src/only.mp4`, readFileSync(join(folder, "vod-lo.mp4")));
    await store.put(`${INPUT}/deleted-src/notes.txt`, "kept");
    const { job, callbacks } = await run("vodstream", { content_id: "del1", source_folder: "deleted-src", output_folder: "del1", create_thumbnail: false, delete_source: true });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(callbacks.filter(isTaskCallback).filter((body) => body.event === "complete").map((body) => body.task_name)).toEqual(["get_sources", "package", "publish", "park_earlier", "delete_source"]);
    expect(await store.head(`${INPUT}/deleted-src/only.mp4`)).toBeNull();
    expect(await store.head(`${INPUT}/deleted-src/notes.txt`)).not.toBeNull();
    expect((callbacks.at(-1) as Callback & { message: string }).message).toMatch(/^content\/vod\/del1\/del1_nodrm_[0-9a-f]{32}\.m3u8$/);
  });

  test("fails with ffprobe's reason when a source cannot be read, and refuses what is not built yet", async () => {
    await store.put(`${INPUT}/badsrc/broken.mp4`, "this is not an MP4 file");
    const { job, callbacks } = await run("vodstream", { content_id: "bad1", source_folder: "badsrc" });
    expect(job.failed).toBe(true);
    expect(callbacks.at(-1)).toMatchObject({ status: "failed", message: expect.stringContaining("ffprobe cannot read") });
    const refused = await engine.request<{ details: { path: string; message: string }[] }>("POST", "/job", { headers: client.headers, body: { job: { workflow: "vodstream" }, parameters: { content_id: "x", source_folder: "vodsrc", drm: ["aes"], encode_source: true } } });
    expect(refused.status).toBe(400);
    expect(refused.body.details.map((detail) => detail.path).sort()).toEqual(["parameters.drm", "parameters.encode_source"]);
  });
});

describe("a worker killed (SIGKILL) in the middle of a task", () => {
  test("its lease expires, another worker completes the task, the job ends once, callbacks in order without a repeated start", async () => {
    const token = await poolToken("kill");
    const first = new MediaWorker(engine.url, token, { pool: "kill", id: "first" });
    const path = "/killed";
    const accepted = await engine.submit(client, "selftest", { content_id: "killed", tasks: 2, task_ms: 3000, runs_on: "kill", rest_endpoints: [receiver.url(path)] });
    await first.waitFor("lease.started", accepted.id);
    await first.kill();
    const second = new MediaWorker(engine.url, token, { pool: "kill", id: "second" });
    try {
      await receiver.waitFor(jobCallbackArrived(accepted.id, path), 60_000, "the job callback after the kill");
      const job = await engine.waitForJob(client, accepted.id);
      expect(job).toMatchObject({ queue_state: "completed", failed: false });
      expect(job.tasks!.map((task) => [task.task_name, task.state, task.attempts])).toEqual([["task_1", "completed", 2], ["task_2", "completed", 1]]);
      const bodies = bodiesOf(ofJob(receiver.at(path), accepted.id)).sort((a, b) => a.sequence - b.sequence);
      expect(bodies.map((body) => body.sequence)).toEqual(bodies.map((_, i) => i + 1));
      expect(bodies.filter(isJobCallback)).toHaveLength(1);
      expect(bodies.filter(isTaskCallback).map((body) => `${body.task_name}:${body.event}:${body.attempt}`)).toEqual([
        "task_1:start:1",
        "task_1:fail:1",
        "task_1:start:2",
        "task_1:complete:2",
        "task_2:start:1",
        "task_2:complete:1",
      ]);
      await waitUntil(() => second.events("lease.completed", accepted.id).length >= 2, "the second worker's completions");
      expect(second.events("lease.completed", accepted.id).map((line) => line.task)).toEqual(["task_1", "task_2"]);
    } finally {
      await second.stop();
    }
  });
});

describe("a job broken while its task is leased", () => {
  test("the next heartbeat answers cancel: the worker stops the task and reports nothing; the job stays broken", async () => {
    const accepted = await engine.submit(client, "selftest", { content_id: "broken", tasks: 1, task_ms: 30_000, runs_on: "media" });
    await worker.waitFor("lease.started", accepted.id);
    const broken = await engine.request("PATCH", `/jobs/${accepted.id}`, { headers: client.headers, body: { queue_state: "broken" } });
    expect(broken.status).toBe(200);
    const stopped = await worker.waitFor("lease.cancelled", accepted.id, 10_000);
    expect(stopped).toMatchObject({ task: "task_1", attempt: 1 });
    await worker.waitFor("lease.stopped", accepted.id, 5_000);
    expect(worker.events("lease.completed", accepted.id)).toEqual([]);
    const job = await engine.getJob(client, accepted.id);
    expect(job).toMatchObject({ queue_state: "broken" });
    expect(job.tasks![0]).toMatchObject({ state: "cancelled" });
  });
});

function seconds(timestamp: string): number {
  const [h, m, s] = timestamp.split(":");
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

describe("a media job broken while ffmpeg runs", () => {
  test("the worker kills ffmpeg at the next heartbeat, uploads and reports nothing", async () => {
    // A slow origin: ffmpeg needs about 10 s to reach the frame at 9 s.
    const slow = await serveFolder(folder, { delayMs: 1500 });
    const slowUrl = `${slow.url}/index.m3u8`;
    try {
      const accepted = await engine.submit(client, "capture_frame", { content_id: "slow", source: slowUrl, frame_time: 9, output_folder: "slow", image_filename: "slow.jpg" });
      await worker.waitFor("lease.started", accepted.id);
      await waitUntil(() => ffmpegReading(slowUrl), "ffmpeg reading the slow source");
      const broken = await engine.request("PATCH", `/jobs/${accepted.id}`, { headers: client.headers, body: { queue_state: "broken" } });
      expect(broken.status).toBe(200);
      await worker.waitFor("lease.stopped", accepted.id, 5_000);
      // Well before ffmpeg could have finished on its own (≈ 10 s): it was killed.
      await waitUntil(() => !ffmpegReading(slowUrl), "ffmpeg gone", 4_000);
      expect(worker.events("file.uploaded", accepted.id)).toEqual([]);
      expect(worker.events("lease.completed", accepted.id)).toEqual([]);
      expect(worker.events("lease.failed", accepted.id)).toEqual([]);
      expect(await store.get(`${ROOT}/slow/slow.jpg`)).toBeNull();
    } finally {
      await slow.stop();
    }
  });
});

/** Whether an ffmpeg process with `url` on its command line runs (read from /proc: Linux, like CI). */
function ffmpegReading(url: string): boolean {
  return readdirSync("/proc").some((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return args[0]?.endsWith("ffmpeg") === true && args.includes(url);
    } catch {
      return false; // the process ended meanwhile
    }
  });
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`not seen within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("workers and an engine that goes away", () => {
  test("a worker started while the engine is down, and an engine restarted while it polls: each task runs once", async () => {
    const flaky = await Engine.start({ name: "media-restart", keepPort: true, vars: { WORKER_LEASE_MS: "3000", LEASE_GRACE_MS: "1000" } });
    try {
      const owner = await flaky.createClient("e2e-restart-pool");
      const created = await flaky.admin<{ token: string }>("POST", "/admin/pools/restart/tokens", { label: "e2e" });
      const url = flaky.url;
      await flaky.stop();
      const early = new MediaWorker(url, created.body.token, { pool: "restart" });
      try {
        await early.waitFor("engine.unreachable", undefined, 15_000);
        await flaky.restart();
        expect(flaky.url).toBe(url);
        const first = await flaky.submit(owner, "selftest", { content_id: "after-start", tasks: 2, runs_on: "restart" });
        await flaky.waitForJob(owner, first.id, 60_000);
        // Restarted while the worker long-polls; a job submitted afterwards still reaches it.
        await flaky.restart();
        const second = await flaky.submit(owner, "selftest", { content_id: "after-restart", tasks: 2, runs_on: "restart" });
        const job = await flaky.waitForJob(owner, second.id, 60_000);
        expect(job.tasks!.map((task) => [task.task_name, task.state, task.attempts])).toEqual([["task_1", "completed", 1], ["task_2", "completed", 1]]);
        for (const id of [first.id, second.id]) {
          // The worker logs a completion once the engine answered it, a moment after the job ended there.
          await waitUntil(() => early.events("lease.completed", id).length >= 2, `the worker's completions of ${id}`);
          expect(early.events("lease.completed", id).map((line) => line.task)).toEqual(["task_1", "task_2"]);
        }
      } finally {
        await early.stop();
      }
    } finally {
      await flaky.destroy();
    }
  });
});

describe("task.progress callbacks", () => {
  test("reach an endpoint whose rule opts in, from the worker's heartbeats, at least 5 s apart; GET /jobs shows the progress", async () => {
    const opted = await engine.createClient("e2e-progress");
    const rules = await engine.admin("PUT", `/admin/clients/${opted.name}/config`, {
      callback_rules: [{ prefix: receiver.url("/progress"), events: ["task.start", "task.progress", "task.complete", "job.end"] }],
    });
    expect(rules.status).toBe(200);
    const accepted = await engine.submit(opted, "selftest", { content_id: "progress", tasks: 1, task_ms: 7000, runs_on: "media", rest_endpoints: [receiver.url("/progress")] });
    const during = await engine.waitForJob(opted, accepted.id, 10_000, (job) => (job.tasks?.[0]?.progress ?? 0) > 0);
    expect(during.progress).toBeGreaterThan(0);
    expect(during.progress).toBeLessThan(100);
    await receiver.waitFor(jobCallbackArrived(accepted.id, "/progress"), 30_000, "the job callback");
    const bodies = bodiesOf(ofJob(receiver.at("/progress"), accepted.id)).sort((a, b) => a.sequence - b.sequence);
    expect(bodies.map((body) => body.sequence)).toEqual(bodies.map((_, i) => i + 1));
    const progress = bodies.filter(isTaskCallback).filter((body) => body.event === ("progress" as string)) as unknown as { progress: number; time: string; message: string }[];
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (const body of progress) expect(body).toMatchObject({ progress: expect.any(Number), message: "waiting" });
    for (let i = 1; i < progress.length; i++) expect(Date.parse(progress[i]!.time) - Date.parse(progress[i - 1]!.time)).toBeGreaterThanOrEqual(5000);
    expect(bodies.map((body) => (isTaskCallback(body) ? body.event : "job"))).toEqual(["start", ...progress.map(() => "progress"), "complete", "job"]);
  });
});
