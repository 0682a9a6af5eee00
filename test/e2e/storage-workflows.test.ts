import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { listKeys, type StorageDriver } from "../../src/storage/driver";
import { AzureBlobDriver } from "../../src/storage/azure-blob";
import { S3Driver } from "../../src/storage/s3";
import { azuriteSas, createContainer, S3_CREDENTIALS, startAzurite, startS3Server, type LocalServer } from "../support/storage-servers";
import { bodiesOf, jobCallbackArrived, ofJob, type Callback } from "./callbacks";
import { Engine, type Client, type JobObject } from "./harness";
import { Receiver } from "./receiver";

/**
 * voddelete, asset_delete and drmswitch end to end: the real worker (wrangler) working on a local S3 server
 * (s3rver, SigV4 checked) and on azurite, seeded and inspected from here; callbacks at a real receiver.
 */

let s3Server: LocalServer;
let azurite: LocalServer;
let engine: Engine;
let receiver: Receiver;
let client: Client;
const stores: Record<"S3" | "azure_blob", StorageDriver> = {} as never;
const ROOT = "content/vod";

beforeAll(async () => {
  [s3Server, azurite, receiver, engine] = await Promise.all([startS3Server(), startAzurite(), Receiver.start(), Engine.start({ name: "storage" })]);
  const container = await createContainer(azurite.url, "e2e");
  const sas = azuriteSas();
  stores.S3 = new S3Driver({ endpoint: s3Server.url, bucket: "e2e-media", region: S3_CREDENTIALS.region, accessKeyId: S3_CREDENTIALS.accessKeyId, secretAccessKey: S3_CREDENTIALS.secretAccessKey, pathStyle: true, fetch });
  stores.azure_blob = new AzureBlobDriver({ containerUrl: container, sasToken: sas, fetch });
  client = await engine.createClient("e2e-storage");
  const configured = await engine.request("PUT", `/admin/clients/${client.name}/storage`, {
    headers: { authorization: `Bearer ${engine.adminToken}` },
    body: {
      default: "S3",
      locations: {
        S3: { driver: "s3", endpoint: s3Server.url, region: S3_CREDENTIALS.region, bucket: "e2e-media", path_style: true, access_key_id: S3_CREDENTIALS.accessKeyId, secret_access_key: S3_CREDENTIALS.secretAccessKey, roots: { output_root: ROOT } },
        azure_blob: { driver: "azure_blob", container_url: container, sas_token: sas, roots: { output_root: ROOT } },
      },
    },
  });
  expect(configured.status).toBe(200);
});

afterAll(async () => {
  await engine?.destroy();
  await receiver?.stop();
  await Promise.all([s3Server?.stop(), azurite?.stop()]);
});

async function seed(store: StorageDriver, files: Record<string, string>): Promise<void> {
  await Promise.all(Object.entries(files).map(([key, body]) => store.put(key, body)));
}

/** Submits a job, waits for its job callback, and returns the job and its callbacks in sequence order. */
async function run(workflow: string, parameters: Record<string, unknown>): Promise<{ job: JobObject; callbacks: Callback[] }> {
  const path = `/${workflow}-${Math.random().toString(36).slice(2, 8)}`;
  const accepted = await engine.submit(client, workflow, { ...parameters, rest_endpoints: [receiver.url(path)] });
  await receiver.waitFor(jobCallbackArrived(accepted.id, path), 30_000, `the job callback of ${workflow}`);
  const job = await engine.waitForJob(client, accepted.id);
  return { job, callbacks: bodiesOf(ofJob(receiver.at(path), accepted.id)).sort((a, b) => a.sequence - b.sequence) };
}

const events = (callbacks: Callback[]) => callbacks.map((body) => ("task_name" in body ? `${body.task_name}:${body.event}` : `job:${body.status}`));

const DRM_ISM = `<?xml version="1.0"?><smil><head><param name="iss.license_server_url" value="https://pr.example"/></head><body><video src="v.ismv"/></body></smil>`;
const CLEAR_ISM = `<?xml version="1.0"?><smil><head><param name="hls_client_manifest_version" value="4"/></head><body><video src="v.ismv"/></body></smil>`;

describe.each(["S3", "azure_blob"] as const)("on %s", (storage) => {
  const id = `${storage.toLowerCase()}-${Date.now().toString(36)}`;

  test("voddelete deletes the folder; the job callback has message = folder and files = the deleted keys", async () => {
    const store = stores[storage];
    const keys = Array.from({ length: 40 }, (_, i) => `${ROOT}/${id}-vod/part ${String(i).padStart(2, "0")}+x.m4s`);
    await seed(store, { ...Object.fromEntries(keys.map((key) => [key, "segment"])), [`${ROOT}/${id}-vod-other/keep.ism`]: "keep" });
    const { job, callbacks } = await run("voddelete", { content_id: `${id}-vod`, folder: `${id}-vod`, source_storage: storage, custom_data: { ref: "r-1" } });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(events(callbacks)).toStrictEqual(["list_folder:start", "list_folder:complete", "delete_folder:start", "delete_folder:complete", "job:completed"]);
    const end = callbacks.at(-1) as unknown as Record<string, unknown>;
    expect(end).toMatchObject({ status: "completed", workflow: "voddelete", content_id: `${id}-vod`, custom_data: { ref: "r-1" }, message: `${id}-vod` });
    expect((end.files as string[]).sort()).toStrictEqual(keys);
    expect(await listKeys(store, `${ROOT}/${id}-vod/`)).toStrictEqual([]);
    expect(await store.head(`${ROOT}/${id}-vod-other/keep.ism`)).not.toBeNull();
  });

  test("voddelete of a folder that does not exist fails the job with a clear message", async () => {
    const { job, callbacks } = await run("voddelete", { content_id: "none", folder: `${id}-none`, source_storage: storage });
    expect(job).toMatchObject({ queue_state: "completed", failed: true });
    const message = `folder '${id}-none' does not exist in storage '${storage}' (nothing under '${ROOT}/${id}-none/')`;
    expect(callbacks.at(-1)).toMatchObject({ status: "failed", message });
  });

  test("asset_delete deletes the listed files; task and job callbacks carry files; a missing file is no failure", async () => {
    const store = stores[storage];
    await seed(store, { [`${ROOT}/${id}-assets/foo.gif`]: "gif", [`${ROOT}/${id}-assets/thumb 1.jpg`]: "jpg", [`${ROOT}/${id}-assets/keep.png`]: "png" });
    const files = [`${id}-assets/foo.gif`, `${id}-assets/thumb 1.jpg`, `${id}-assets/never-there.gif`];
    const { job, callbacks } = await run("asset_delete", { content_id: id, files, source_storage: storage });
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(callbacks.map((body) => (body as unknown as { files?: unknown }).files)).toStrictEqual([files, files, files]);
    expect(callbacks.at(-1)).toMatchObject({ status: "completed", message: files.join(", ") });
    expect(job.result).toMatchObject({ missing: [`${id}-assets/never-there.gif`] });
    expect(await listKeys(store, `${ROOT}/${id}-assets/`)).toStrictEqual([`${ROOT}/${id}-assets/keep.png`]);
  });

  test("drmswitch on → off → on returns to the original active manifest", async () => {
    const store = stores[storage];
    const folder = `${ROOT}/${id}-drm`;
    await seed(store, { [`${folder}/${id}_drm_g1.ism`]: DRM_ISM, [`${folder}/1700000000_g2_${id}.drm`]: CLEAR_ISM, [`${folder}/v.ismv`]: "media" });
    const original = await listKeys(store, `${folder}/`);

    const on = await run("drmswitch", { content_id: id, folder: `${id}-drm`, source_storage: storage });
    expect(on.callbacks.at(-1)).toMatchObject({ status: "completed", message: `${folder}/${id}_drm_g1.ism`, files: [] });
    expect(await listKeys(store, `${folder}/`)).toStrictEqual(original);

    const off = await run("drmswitch", { content_id: id, folder: `${id}-drm`, enable_drm: false, source_storage: storage });
    expect(events(off.callbacks)).toStrictEqual([
      "get_filenames:start",
      "get_filenames:complete",
      "prepare_switch:start",
      "prepare_switch:complete",
      "rename_manifests:start",
      "rename_manifests:complete",
      "job:completed",
    ]);
    const offEnd = off.callbacks.at(-1) as unknown as { message: string; files: string[] };
    expect(offEnd.message).toBe(`${folder}/${id}_nodrm_g2.ism`);
    expect(offEnd.files[0]).toBe(`${folder}/${id}_nodrm_g2.ism`);
    expect(offEnd.files[1]).toMatch(new RegExp(`^${folder}/\\d+_g1_${id}\\.drm$`));
    expect((await listKeys(store, `${folder}/`)).sort()).toStrictEqual([...offEnd.files, `${folder}/v.ismv`].sort());
    expect(await (await store.get(`${folder}/${id}_nodrm_g2.ism`))!.text()).toBe(CLEAR_ISM);

    const back = await run("drmswitch", { content_id: id, folder: `${id}-drm`, enable_drm: true, source_storage: storage });
    expect(back.callbacks.at(-1)).toMatchObject({ status: "completed", message: `${folder}/${id}_drm_g1.ism` });
    const after = await listKeys(store, `${folder}/`);
    // The same files as at the start; only the parking time in the clear manifest's name is new.
    expect(after.map((key) => key.replace(/\/\d+_g2_/, "/<epoch>_g2_"))).toStrictEqual(original.map((key) => key.replace(/\/\d+_g2_/, "/<epoch>_g2_")));
    expect(await (await store.get(`${folder}/${id}_drm_g1.ism`))!.text()).toBe(DRM_ISM);
  });

  test("drmswitch fails naming the missing manifest and leaves the folder as it was", async () => {
    const store = stores[storage];
    const folder = `${ROOT}/${id}-nodrm`;
    await seed(store, { [`${folder}/${id}_nodrm_g7.ism`]: CLEAR_ISM });
    const { job, callbacks } = await run("drmswitch", { content_id: id, folder: `${id}-nodrm`, enable_drm: true, source_storage: storage });
    expect(job.failed).toBe(true);
    const end = callbacks.at(-1) as unknown as { status: string; message: string };
    expect(end.status).toBe("failed");
    expect(end.message).toContain(`the DRM manifest is missing in '${folder}': no ${id}_drm_<guid>.ism`);
    expect(await listKeys(store, `${folder}/`)).toStrictEqual([`${folder}/${id}_nodrm_g7.ism`]);
  });

  test("path traversal is refused at submission and reaches no storage", async () => {
    const store = stores[storage];
    await store.put("outside-the-root/secret.txt", "secret");
    for (const parameters of [
      { workflow: "voddelete", folder: "../../outside-the-root" },
      { workflow: "voddelete", folder: "/outside-the-root" },
      { workflow: "drmswitch", folder: "a/../../../outside-the-root" },
      { workflow: "asset_delete", files: ["../../outside-the-root/secret.txt"] },
      { workflow: "asset_delete", files: ["ok.txt", "..\\..\\outside-the-root\\secret.txt"] },
    ]) {
      const { workflow, ...rest } = parameters;
      const response = await engine.request<{ code: string }>("POST", "/job", { headers: client.headers, body: { job: { workflow }, parameters: { content_id: "x", source_storage: storage, ...rest } } });
      expect(response.status, JSON.stringify(parameters)).toBe(400);
      expect(response.body.code).toBe("validation_failed");
    }
    expect(await store.head("outside-the-root/secret.txt")).not.toBeNull();
  });

  test("another tenant on the same bucket reaches none of these files: unconfigured and prototype root keys are refused, its own root holds only its own", async () => {
    const store = stores[storage];
    const victim = `${ROOT}/${id}-victim`;
    const victimFiles = [`${victim}/a.mp4`, `${victim}/${id}_nodrm_g1.ism`];
    await seed(store, Object.fromEntries(victimFiles.map((key) => [key, "the first tenant's"])));
    // The second tenant's root on the same bucket or container, beside the first tenant's.
    const location = (await engine.admin<{ config: { storage: { locations: Record<string, Record<string, unknown>> } } }>("GET", `/admin/clients/${client.name}`)).body.config.storage.locations[storage]!;
    const credentials = storage === "S3" ? { secret_access_key: S3_CREDENTIALS.secretAccessKey } : { sas_token: azuriteSas() };
    const tenant = await engine.createClient(`e2e-tenant-${storage.toLowerCase()}`);
    const put = (roots: Record<string, string>, shared?: boolean) =>
      engine.admin("PUT", `/admin/clients/${tenant.name}/storage`, { default: storage, locations: { [storage]: { ...location, ...credentials, roots, ...(shared ? { shared } : {}) } } });
    // Roots that overlap the first tenant's are refused unless both locations are shared.
    for (const root of ["content", ROOT, `${ROOT}/${id}-victim`, ""]) expect((await put({ output_root: root })).status, root).toBe(409);
    expect((await put({ output_root: `tenant-${id}` })).status).toBe(200);

    const submit = (workflow: string, parameters: Record<string, unknown>) => engine.request<{ code: string; details?: { path: string }[] }>("POST", "/job", { headers: tenant.headers, body: { job: { workflow }, parameters } });
    for (const output_root of ["input_root", "__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const voddelete = await submit("voddelete", { folder: `${ROOT}/${id}-victim`, output_root });
      expect(voddelete.status, output_root).toBe(400);
      expect(voddelete.body.details?.[0]?.path, output_root).toBe("parameters.output_root");
      expect((await submit("asset_delete", { content_id: "x", files: victimFiles, output_root })).status, output_root).toBe(400);
    }
    for (const content_id of ["..", "sub/dir"]) {
      const drmswitch = await submit("drmswitch", { content_id, folder: `${id}-victim`, enable_drm: true });
      expect(drmswitch.status, content_id).toBe(400);
      expect(drmswitch.body.details?.[0]?.path).toBe("parameters.content_id");
    }
    // Within its own root, the first tenant's paths are just files that do not exist.
    const accepted = await engine.submit(tenant, "asset_delete", { content_id: "x", files: victimFiles });
    const job = await engine.waitForJob(tenant, accepted.id);
    expect(job.result).toMatchObject({ missing: victimFiles });
    for (const key of victimFiles) expect(await store.head(key), key).not.toBeNull();
  });
});
