// vodstream on these machines (P8): a 30 s 720p H.264/AAC source packaged as CMAF HLS + DASH by the engine and
// its reference media worker, clear, then clear + cenc + cbcs (static keys); beside each, the same packaging
// run by hand with shaka-packager on the same file in the same run (what a user would otherwise script).
// Figures: wall time submit → job completed, and the worker's CPU seconds (its own and its tools') per minute
// of output, the figure users compare with MediaConvert and Coconut.
//
//   npm run bench:vodstream             (node --experimental-strip-types bench/vodstream.ts)
//
// Knobs (environment): BENCH_RUNS (default 3 jobs per kind; medians), BENCH_SECONDS (default 30).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { AwsClient } from "aws4fetch";
import { MediaWorker } from "../test/e2e/media-worker.ts";
import { S3_CREDENTIALS, startS3Server } from "../test/support/storage-servers.ts";
import { packagerBinary } from "../worker/executors/shaka.ts";
import { cpuMs } from "./lib/cpu.ts";
import { createClient, getText, intEnv, liftedGuards, median, migrate, note, postJson, run, startEngine, type ClientHeaders } from "./lib/harness.ts";

const RUNS = intEnv("BENCH_RUNS", 3);
const SECONDS = intEnv("BENCH_SECONDS", 30);
const ADMIN_TOKEN = `adm_bench_${randomBytes(16).toString("hex")}`;
const KINDS: { label: string; drm: string[] }[] = [
  { label: "clear", drm: ["clear"] },
  { label: "clear + cenc + cbcs", drm: ["clear", "widevine", "playready", "fairplay"] },
];

run("vodstream", async (scope) => {
  const source = join(scope.dir, "source-720p.mp4");
  note(`making a ${SECONDS} s 1280x720 H.264/AAC source with lavfi`);
  tool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3M", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", source]);

  migrate(scope.dir);
  const s3 = await startS3Server();
  const { worker, base } = await startEngine(scope.dir, ADMIN_TOKEN, undefined, { DRM_KEY_SECRET: randomBytes(32).toString("hex") });
  scope.workers.push(worker);
  const url = base.origin;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
  const auth = await createClient(base, ADMIN_TOKEN, "vodbench", liftedGuards(10));
  const s3Client = new AwsClient({ accessKeyId: S3_CREDENTIALS.accessKeyId, secretAccessKey: S3_CREDENTIALS.secretAccessKey, region: S3_CREDENTIALS.region, service: "s3" });
  await put(`${url}/admin/clients/vodbench/storage`, admin, {
    default: "S3",
    locations: { S3: { driver: "s3", endpoint: s3.url, region: S3_CREDENTIALS.region, bucket: "media", path_style: true, access_key_id: S3_CREDENTIALS.accessKeyId, secret_access_key: S3_CREDENTIALS.secretAccessKey, roots: { output_root: "out", input_root: "in" } } },
  });
  await put(`${url}/admin/clients/vodbench/drm`, admin, { provider: "static", seed: randomBytes(32).toString("hex") });
  const uploaded = await s3Client.fetch(`${s3.url}/media/in/src/source.mp4`, { method: "PUT", body: readFileSync(source) });
  if (!uploaded.ok) throw new Error(`uploading the source answered ${uploaded.status}`);
  const token = (await postJson(`${url}/admin/pools/media/tokens`, { label: "bench" }, admin)).token as string;
  const mediaWorker = new MediaWorker(url, token, { concurrency: 1 });
  try {
    await mediaWorker.waitFor("worker.started", undefined);
    const minutes = SECONDS / 60;
    console.log(`vodstream of a ${SECONDS} s 1280x720 source, ${RUNS} jobs per kind (medians); CPU: the worker and its tools`);
    for (const kind of KINDS) {
      const engine: { wall: number; cpu: number; tasks: Record<string, number> }[] = [];
      const byHand: { wall: number; cpu: number }[] = [];
      for (let i = 0; i < RUNS; i++) {
        engine.push(await engineRun(url, auth, kind.drm, mediaWorker.pid, i));
        byHand.push(shakaByHand(source, join(scope.dir, `by-hand-${i}`), kind.drm.length > 1));
      }
      const wall = median(engine.map((r) => r.wall));
      const cpu = median(engine.map((r) => r.cpu));
      const handWall = median(byHand.map((r) => r.wall));
      const handCpu = median(byHand.map((r) => r.cpu));
      console.log(`  ${kind.label}`);
      console.log(`    engine + worker       ${(wall / 1000).toFixed(2).padStart(6)} s wall   ${(cpu / 1000 / minutes).toFixed(2).padStart(6)} CPU s per output minute   (runs ${engine.map((r) => (r.wall / 1000).toFixed(2)).join(" / ")} s)`);
      const names = Object.keys(engine[0]!.tasks);
      console.log(`    where the time goes (task medians): ${names.map((name) => `${name} ${(median(engine.map((r) => r.tasks[name] ?? 0)) / 1000).toFixed(2)} s`).join(", ")}`);
      console.log(`    shaka-packager by hand ${(handWall / 1000).toFixed(2).padStart(5)} s wall   ${(handCpu / 1000 / minutes).toFixed(2).padStart(6)} CPU s per output minute   ratio ${(wall / handWall).toFixed(1)}× wall, ${(cpu / handCpu).toFixed(1)}× CPU`);
    }
  } finally {
    await mediaWorker.stop();
    await s3.stop();
  }
});

async function put(url: string, headers: Record<string, string>, body: unknown): Promise<void> {
  const response = await fetch(url, { method: "PUT", headers, body: JSON.stringify(body) });
  if (response.status !== 200) throw new Error(`PUT ${url} answered ${response.status}: ${await response.text()}`);
}

function tool(binary: string, args: string[]): void {
  const result = spawnSync(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  if (result.status !== 0) throw new Error(`${binary} failed: ${result.stderr?.toString().slice(-400)}`);
}

/** One vodstream job: submit → completed, and the worker process's CPU (with its reaped tools) meanwhile. */
async function engineRun(url: string, auth: ClientHeaders, drm: string[], workerPid: number, i: number): Promise<{ wall: number; cpu: number; tasks: Record<string, number> }> {
  const cpuBefore = cpuMs(workerPid)!;
  const started = performance.now();
  const { id } = (await postJson(`${url}/job`, { job: { workflow: "vodstream" }, parameters: { content_id: `bench${i}`, source_folder: "src", output_folder: `bench-${drm.length}-${i}`, drm, create_thumbnail: true, thumbnail_time: 1 } }, auth)) as { id: string };
  for (;;) {
    const job = JSON.parse((await getText(`${url}/jobs/${id}`, auth)).text) as { queue_state: string; failed: boolean; tasks: { task_name: string; started_at: string | null; ended_at: string | null }[] };
    if (job.queue_state === "completed") {
      if (job.failed) throw new Error(`vodstream job ${id} failed: ${JSON.stringify(job).slice(-700)}`);
      const tasks = Object.fromEntries(job.tasks.filter((task) => task.started_at && task.ended_at).map((task) => [task.task_name, Date.parse(task.ended_at!) - Date.parse(task.started_at!)]));
      return { wall: performance.now() - started, cpu: cpuMs(workerPid)! - cpuBefore, tasks };
    }
    if (performance.now() - started > 600_000) throw new Error(`vodstream job ${id} not done after 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The same packaging by hand: shaka-packager on the local file, one video and one audio stream, 2 s segments,
 * HLS + DASH; with DRM, the clear package and a cenc and a cbcs package (raw keys). No upload, no checks.
 */
function shakaByHand(source: string, out: string, protectedToo: boolean): { wall: number; cpu: number } {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const cpuBefore = cpuMs(process.pid)!;
  const started = performance.now();
  const streams = (folder: string, label: boolean) => [
    `in=${source},stream=video,init_segment=${folder}/video_0/init.mp4,segment_template=${folder}/video_0/$Number$.m4s,playlist_name=video_0.m3u8${label ? ",drm_label=VIDEO" : ""}`,
    `in=${source},stream=audio,init_segment=${folder}/audio_0/init.mp4,segment_template=${folder}/audio_0/$Number$.m4s,playlist_name=audio_0.m3u8,hls_group_id=audio${label ? ",drm_label=AUDIO" : ""}`,
  ];
  const common = (folder: string) => ["--segment_duration", "2", "--generate_static_live_mpd", "--hls_playlist_type", "VOD", "--hls_master_playlist_output", `${folder}/master.m3u8`, "--mpd_output", `${folder}/manifest.mpd`];
  const packager = (args: string[]) => {
    const result = spawnSync(packagerBinary(), args, { cwd: out, stdio: ["ignore", "ignore", "pipe"] });
    if (result.status !== 0) throw new Error(`shaka-packager failed: ${result.stderr?.toString().slice(-400)}`);
  };
  packager([...streams("clear", false), ...common("clear")]);
  if (protectedToo) {
    for (const scheme of ["cenc", "cbcs"]) {
      const keys = `label=VIDEO:key_id=${randomBytes(16).toString("hex")}:key=${randomBytes(16).toString("hex")},label=AUDIO:key_id=${randomBytes(16).toString("hex")}:key=${randomBytes(16).toString("hex")}`;
      packager([...streams(scheme, true), ...common(scheme), "--enable_raw_key_encryption", "--keys", keys, "--protection_scheme", scheme, "--clear_lead", "0", "--protection_systems", scheme === "cenc" ? "Widevine,PlayReady" : "FairPlay"]);
    }
  }
  return { wall: performance.now() - started, cpu: cpuMs(process.pid)! - cpuBefore };
}
