import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listKeys } from "../../src/storage/driver";
import { R2Driver } from "../../src/storage/r2";
import { callWithBindings, createClient, getJson, interceptFetch, postJson, waitFor, waitForJobEnd, type JobObject, type LogLine, type RecordedRequest } from "./helpers";

/**
 * voddelete, asset_delete and drmswitch on R2 (the MEDIA binding) in workerd: submitted through the API,
 * run by the real queues, coordinator and executors; callbacks captured at the outbound fetch.
 */

const ADMIN_TOKEN = "admin-token-for-r2-workflows";
const HOOK = "http://127.0.0.1:9/hook";
const media = new R2Driver(env.MEDIA);

let headers: Record<string, string>;
let received: RecordedRequest[];

beforeAll(async () => {
  received = interceptFetch(() => new Response("ok"));
  headers = await createClient("r2-client");
  const response = await callWithBindings(
    "/admin/clients/r2-client/storage",
    {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ default: "R2", locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "vod", trash_root: "trash" } } } }),
    },
    { ADMIN_TOKEN },
  );
  expect(response.status).toBe(200);
});

afterAll(() => {
  // interceptFetch is restored by the other files' vi.restoreAllMocks(); this file keeps it throughout.
});

async function seed(keys: string[], body: (key: string) => string = (key) => `data of ${key}`): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        await env.MEDIA.put(key, body(key));
      }
    }),
  );
}

async function run(workflow: string, parameters: Record<string, unknown>, timeoutMs = 20_000): Promise<JobObject> {
  const response = await postJson("/job", { job: { workflow }, parameters: { rest_endpoints: [HOOK], ...parameters } }, headers);
  const accepted = (await response.json()) as { id: string };
  expect(response.status, JSON.stringify(accepted)).toBe(202);
  return waitForJobEnd(accepted.id, headers, timeoutMs);
}

/** The callbacks of a job, in sequence order, once its job callback arrived. */
async function callbacksOf(jobId: string): Promise<Record<string, unknown>[]> {
  const bodies = () =>
    received
      .filter((request) => request.url === HOOK)
      .map((request) => JSON.parse(request.body) as Record<string, unknown>)
      .filter((body) => body.job_id === jobId)
      .sort((a, b) => (a.sequence as number) - (b.sequence as number));
  return waitFor(async () => bodies(), (found) => found.some((body) => "status" in body));
}

describe("voddelete on R2", () => {
  it("deletes a folder of 5,000 objects and nothing beside it; the job callback has the folder and every deleted key", { timeout: 120_000 }, async () => {
    const keys = Array.from({ length: 5_000 }, (_, i) => `vod/big/seg-${String(i).padStart(5, "0")}.m4s`);
    await seed([...keys, "vod/big-other/keep.ism", "vod/bigger.mp4"]);
    const job = await run("voddelete", { content_id: "big", folder: "big", custom_data: { ref: "r-5000" } }, 90_000);
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(job.tasks!.map((task) => [task.task_name, task.state])).toStrictEqual([
      ["list_folder", "completed"],
      ["delete_folder", "completed"],
    ]);
    expect(await listKeys(media, "vod/big/")).toStrictEqual([]);
    expect(await env.MEDIA.head("vod/big-other/keep.ism")).not.toBeNull();
    expect(await env.MEDIA.head("vod/bigger.mp4")).not.toBeNull();

    const callbacks = await callbacksOf(job.id);
    const end = callbacks.at(-1)!;
    expect(end).toMatchObject({ status: "completed", workflow: "voddelete", content_id: "big", custom_data: { ref: "r-5000" }, message: "big" });
    expect((end.files as string[]).sort()).toStrictEqual(keys);
    expect(callbacks.filter((body) => body.event === "complete").map((body) => body.task_name)).toStrictEqual(["list_folder", "delete_folder"]);
  });

  it("fails the job with a clear message when the folder does not exist", async () => {
    const job = await run("voddelete", { content_id: "nothing", folder: "nothing-here" });
    expect(job).toMatchObject({ queue_state: "completed", failed: true });
    const message = "folder 'nothing-here' does not exist in storage 'R2' (nothing under 'vod/nothing-here/')";
    expect(job.tasks!.map((task) => [task.task_name, task.state, task.message])).toStrictEqual([
      ["list_folder", "failed", message],
      ["delete_folder", "cancelled", expect.any(String)],
    ]);
    // Not retried: a missing folder is not going to appear.
    expect(job.tasks![0]!.attempts).toBe(1);
    expect((await callbacksOf(job.id)).at(-1)).toMatchObject({ status: "failed", message });
  });

  it("deletes below the root output_root picks", async () => {
    await seed(["trash/old/a.mp4", "trash/old/b.mp4", "vod/old/keep.mp4"]);
    const job = await run("voddelete", { content_id: "old", folder: "old", output_root: "trash_root" });
    expect(job.result).toStrictEqual({ message: "old", files: ["trash/old/a.mp4", "trash/old/b.mp4"] });
    expect(await env.MEDIA.head("vod/old/keep.mp4")).not.toBeNull();
  });
});

describe("asset_delete on R2", () => {
  it("deletes the listed files; a missing one is reported, not a failure; task and job callbacks carry files", async () => {
    await seed(["vod/demo-content/assets/foo.gif", "vod/demo-content/assets/bar.jpg", "vod/demo-content/assets/keep.png"]);
    const files = ["demo-content/assets/foo.gif", "demo-content/assets/bar.jpg", "demo-content/assets/gone.gif"];
    const job = await run("asset_delete", { content_id: "demo-content", files });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(job.result).toStrictEqual({ message: files.join(", "), files, missing: ["demo-content/assets/gone.gif"] });
    expect(await listKeys(media, "vod/demo-content/")).toStrictEqual(["vod/demo-content/assets/keep.png"]);

    const callbacks = await callbacksOf(job.id);
    const tasks = callbacks.filter((body) => "task_id" in body);
    expect(tasks.map((body) => [body.task_name, body.event, body.files])).toStrictEqual([
      ["delete_files", "start", files],
      ["delete_files", "complete", files],
    ]);
    expect(callbacks.at(-1)).toMatchObject({ status: "completed", message: files.join(", "), files });
    const { body: log } = await getJson<LogLine[]>(`/logs/${job.id}`, headers);
    expect(log.some((line) => line.message.includes("completed successfully"))).toBe(true);
  });
});

const DRM_ISM = `<?xml version="1.0"?><smil><head><param name="iss.license_server_url" value="https://pr.example"/><param name="widevine.drm_specific_data" value="x"/></head><body><video src="demo1.ismv"/></body></smil>`;
const CLEAR_ISM = `<?xml version="1.0"?><smil><head><param name="hls_client_manifest_version" value="4"/></head><body><video src="demo1.ismv"/></body></smil>`;

describe("drmswitch on R2", () => {
  it("off → on round-trips: the wanted manifest becomes the .ism, the other is parked with its guid", async () => {
    await env.MEDIA.put("vod/drm1/drm1_drm_g1.ism", DRM_ISM);
    await env.MEDIA.put("vod/drm1/1700000000_g2_drm1.drm", CLEAR_ISM);
    await env.MEDIA.put("vod/drm1/drm1.ismv", "media");

    const off = await run("drmswitch", { content_id: "drm1", folder: "drm1", enable_drm: false });
    expect(off.tasks!.map((task) => [task.task_name, task.state])).toStrictEqual([
      ["get_filenames", "completed"],
      ["prepare_switch", "completed"],
      ["rename_manifests", "completed"],
    ]);
    const offKeys = await listKeys(media, "vod/drm1/");
    const parkedDrm = offKeys.find((key) => /^vod\/drm1\/\d+_g1_drm1\.drm$/.test(key))!;
    expect(offKeys).toStrictEqual(["vod/drm1/drm1.ismv", "vod/drm1/drm1_nodrm_g2.ism", parkedDrm].sort());
    expect(off.result).toStrictEqual({ message: "vod/drm1/drm1_nodrm_g2.ism", files: ["vod/drm1/drm1_nodrm_g2.ism", parkedDrm] });
    expect(await (await env.MEDIA.get("vod/drm1/drm1_nodrm_g2.ism"))!.text()).toBe(CLEAR_ISM);

    const on = await run("drmswitch", { content_id: "drm1", folder: "drm1" });
    expect(on.result).toMatchObject({ message: "vod/drm1/drm1_drm_g1.ism" });
    const onKeys = await listKeys(media, "vod/drm1/");
    expect(onKeys.filter((key) => key.endsWith(".ism"))).toStrictEqual(["vod/drm1/drm1_drm_g1.ism"]);
    expect(onKeys.filter((key) => /^vod\/drm1\/\d+_g2_drm1\.drm$/.test(key))).toHaveLength(1);
    expect(onKeys).toHaveLength(3);
    expect(await (await env.MEDIA.get("vod/drm1/drm1_drm_g1.ism"))!.text()).toBe(DRM_ISM);
    const callbacks = await callbacksOf(on.id);
    expect(callbacks.at(-1)).toMatchObject({ status: "completed", workflow: "drmswitch", message: "vod/drm1/drm1_drm_g1.ism" });
  });

  it("fails naming the missing manifest, and changes nothing", async () => {
    await env.MEDIA.put("vod/drm2/drm2_nodrm_g9.ism", CLEAR_ISM);
    const job = await run("drmswitch", { content_id: "drm2", folder: "drm2", enable_drm: true });
    expect(job).toMatchObject({ failed: true });
    const failed = job.tasks!.find((task) => task.state === "failed")!;
    expect(failed.task_name).toBe("prepare_switch");
    expect(failed.message).toMatch(/^the DRM manifest is missing in 'vod\/drm2': no drm2_drm_<guid>\.ism and no parked DRM manifest/);
    expect(await listKeys(media, "vod/drm2/")).toStrictEqual(["vod/drm2/drm2_nodrm_g9.ism"]);
  });
});
