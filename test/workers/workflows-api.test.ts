import { beforeAll, describe, expect, it } from "vitest";
import { call, callWithBindings, createClient, getJson, postJson } from "./helpers";

/** The catalogue API, the operator's storage configuration and the storage checks at submission. */

const ADMIN_TOKEN = "admin-token-for-storage-tests";
const operator = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

function putStorage(client: string, storage: unknown): Promise<Response> {
  return callWithBindings(`/admin/clients/${client}/storage`, { method: "PUT", headers: operator, body: JSON.stringify(storage) }, { ADMIN_TOKEN });
}

const S3_LOCATION = {
  driver: "s3",
  endpoint: "https://s3.eu-west-1.amazonaws.com",
  region: "eu-west-1",
  bucket: "vod-media",
  access_key_id: "AKIAEXAMPLE",
  secret_access_key: "s3-secret-value-never-shown",
  roots: { input_root: "input", output_root: "content/vod", archive_root: "archive/" },
};
const AZURE_LOCATION = {
  driver: "azure_blob",
  container_url: "https://account.blob.core.windows.net/media",
  sas_token: "sv=2021-08-06&sig=azure-sas-never-shown",
  roots: { output_root: "vod" },
};

interface CatalogueEntry {
  name: string;
  description: string;
  parameters: { type: string; properties: Record<string, { default?: unknown; enum?: unknown[] }>; required?: string[] };
  tasks: { name: string; executor: string; needs: string[]; conditional: boolean; runs_on: string }[];
  example: Record<string, unknown>;
}

let headers: Record<string, string>;

beforeAll(async () => {
  headers = await createClient("storage-client");
  const response = await putStorage("storage-client", { default: "R2", locations: { S3: S3_LOCATION, azure_blob: AZURE_LOCATION, R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "vod" } } } });
  expect(response.status).toBe(200);
});

async function submit(workflow: string, parameters: Record<string, unknown>, as = headers): Promise<{ status: number; body: { id?: string; error?: string; code?: string; details?: { path: string; message: string }[] } }> {
  // Scheduled far ahead: these jobs are only submitted (their storage locations are not reachable here).
  const response = await postJson("/job", { job: { workflow, run_at: "2099-01-01T00:00:00.000Z" }, parameters }, as);
  return { status: response.status, body: (await response.json()) as never };
}

describe("GET /workflows", () => {
  it("lists the built workflows with parameter JSON Schemas, examples and task graphs", async () => {
    const { status, body } = await getJson<CatalogueEntry[]>("/workflows", headers);
    expect(status).toBe(200);
    expect(body.map((entry) => entry.name)).toStrictEqual(["asset_delete", "build_thumbnails", "capture_frame", "createmp4", "drmswitch", "generate_gif", "selftest", "trickplay", "vodcapture", "voddelete", "vodstream"]);
    const voddelete = body.find((entry) => entry.name === "voddelete")!;
    expect(voddelete.parameters.type).toBe("object");
    expect(voddelete.parameters.required).toContain("folder");
    expect(voddelete.parameters.properties.source_storage!.enum).toStrictEqual(["S3", "azure_blob", "local", "R2"]);
    expect(voddelete.tasks).toStrictEqual([
      { name: "list_folder", executor: "storage.list_folder", needs: [], conditional: false, runs_on: "edge" },
      { name: "delete_folder", executor: "storage.delete_keys", needs: ["list_folder"], conditional: false, runs_on: "edge" },
    ]);
    const drmswitch = body.find((entry) => entry.name === "drmswitch")!;
    expect(drmswitch.tasks.map((task) => [task.name, task.needs])).toStrictEqual([
      ["get_filenames", []],
      ["prepare_switch", ["get_filenames"]],
      ["rename_manifests", ["prepare_switch"]],
    ]);
    expect(drmswitch.parameters.properties.enable_drm!.default).toBe(true);
    expect(drmswitch.parameters.properties.drm!.default).toStrictEqual([]);
    expect(body.find((entry) => entry.name === "asset_delete")!.tasks.map((task) => task.name)).toStrictEqual(["delete_files"]);
    // Media workflows: the media work on pool `media`, the publishing on the edge (media.md).
    for (const [name, work] of [["capture_frame", "capture_frame"], ["generate_gif", "generate_gif"], ["build_thumbnails", "build_sprite"]] as const) {
      const entry = body.find((candidate) => candidate.name === name)!;
      expect(entry.tasks.map((task) => [task.name, task.runs_on, task.needs])).toStrictEqual([[work, "media", []], ["publish", "edge", [work]]]);
      expect(entry.parameters.required).toStrictEqual(expect.arrayContaining(["content_id", "source"]));
    }
    const createmp4 = body.find((entry) => entry.name === "createmp4")!;
    expect(createmp4.tasks.map((task) => [task.name, task.runs_on, task.needs])).toStrictEqual([
      ["get_sources", "edge", []],
      ["create_mp4", "media", ["get_sources"]],
      ["publish", "edge", ["create_mp4"]],
    ]);
    const vodstream = body.find((entry) => entry.name === "vodstream")!;
    expect(vodstream.tasks.map((task) => [task.name, task.runs_on, task.needs, task.conditional])).toStrictEqual([
      ["get_sources", "edge", [], false],
      ["get_drm_keys", "edge", ["get_sources"], true],
      ["package", "media", ["get_drm_keys"], false],
      ["publish", "edge", ["package"], false],
      ["park_earlier", "edge", ["publish"], false],
      ["delete_source", "edge", ["park_earlier"], true],
    ]);
    const gif = body.find((entry) => entry.name === "generate_gif")!;
    expect(gif.parameters.properties.fps!.default).toBe(12);
    expect(gif.parameters.properties.playback_loop!.default).toBe(0);
  });

  it("shows one workflow; an unbuilt one is a 404 and cannot be submitted", async () => {
    const one = await getJson<CatalogueEntry>("/workflows/asset_delete", headers);
    expect(one.status).toBe(200);
    expect(one.body.parameters.required).toStrictEqual(expect.arrayContaining(["content_id", "files"]));
    expect((await call("/workflows/vodremix", { headers })).status).toBe(404);
    const refused = await submit("vodremix", { content_id: "x" });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("Unknown workflow 'vodremix'. Available workflows: asset_delete, build_thumbnails, capture_frame, createmp4, drmswitch, generate_gif, selftest, trickplay, vodcapture, voddelete, vodstream.");
  });

  it("needs the client's credentials", async () => {
    expect((await call("/workflows")).status).toBe(401);
  });
});

describe("PUT /admin/clients/{name}/storage", () => {
  it("stores the locations and never shows their credentials", async () => {
    await createClient("secretive");
    // Its own bucket and container: storage-client's roots on vod-media and media are storage-client's alone.
    const response = await putStorage("secretive", {
      locations: { S3: { ...S3_LOCATION, bucket: "secretive-media" }, azure_blob: { ...AZURE_LOCATION, container_url: "https://account.blob.core.windows.net/secretive" } },
    });
    expect(response.status).toBe(200);
    const shown = await response.text();
    const viewed = await (await callWithBindings("/admin/clients/secretive", { headers: operator }, { ADMIN_TOKEN })).text();
    for (const text of [shown, viewed]) {
      expect(text).not.toContain("s3-secret-value-never-shown");
      expect(text).not.toContain("azure-sas-never-shown");
      expect(text).toContain("AKIAEXAMPLE");
      expect(text).toContain('"secret_access_key":"********"');
      expect(text).toContain('"sas_token":"********"');
    }
    expect(JSON.parse(shown)).toMatchObject({ locations: { S3: { roots: { archive_root: "archive" } } } });
  });

  it("refuses bad locations: unknown storage names and drivers, unsafe roots, a default that is not configured", async () => {
    await createClient("badconfig");
    const cases: unknown[] = [
      { locations: { GCS: { driver: "r2", binding: "MEDIA" } } },
      { locations: { R2: { driver: "ftp", binding: "MEDIA" } } },
      { locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "../other-client" } } } },
      { locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "/abs" } } } },
      { locations: { S3: { ...S3_LOCATION, endpoint: "ftp://example.com" } } },
      { locations: { azure_blob: { ...AZURE_LOCATION, container_url: "https://a.blob.core.windows.net/c?sv=1" } } },
      { default: "S3", locations: { R2: { driver: "r2", binding: "MEDIA" } } },
    ];
    for (const storage of cases) expect((await putStorage("badconfig", storage)).status, JSON.stringify(storage)).toBe(400);
    expect((await putStorage("no-such-client", { locations: {} })).status).toBe(404);
    const unauthorised = await call("/admin/clients/badconfig/storage", { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" });
    expect(unauthorised.status).toBe(401);
  });
});

describe("storage checks at submission", () => {
  it("accepts the documented example bodies as they are", async () => {
    for (const name of ["voddelete", "asset_delete", "drmswitch"]) {
      const { body: entry } = await getJson<CatalogueEntry>(`/workflows/${name}`, headers);
      const accepted = await submit(name, entry.example);
      expect(accepted.status, `${name}: ${JSON.stringify(accepted.body)}`).toBe(202);
    }
    // The reference's voddelete example without content_id (optional since 1.170.1), and with a trailing slash.
    expect((await submit("voddelete", { folder: "d355/" })).status).toBe(202);
  });

  it("refuses a storage the client has not configured, naming the configured ones", async () => {
    const refused = await submit("voddelete", { content_id: "c", folder: "c", source_storage: "local" });
    expect(refused.status).toBe(400);
    expect(refused.body.details).toStrictEqual([
      { path: "parameters.source_storage", message: "storage 'local' is not configured for this client (configured: R2, S3, azure_blob)" },
    ]);
    expect((await submit("voddelete", { content_id: "c", folder: "c", source_storage: "GCS" })).status).toBe(400);
    const bare = await createClient("no-storage");
    const none = await submit("asset_delete", { content_id: "c", files: ["a.mp4"] }, bare);
    expect(none.status).toBe(400);
    expect(none.body.error).toContain("storage 'S3' is not configured for this client (configured: none)");
  });

  it("refuses an output_root that the storage does not have", async () => {
    expect((await submit("voddelete", { content_id: "c", folder: "c", source_storage: "S3", output_root: "archive_root" })).status).toBe(202);
    const refused = await submit("voddelete", { content_id: "c", folder: "c", source_storage: "azure_blob", output_root: "archive_root" });
    expect(refused.status).toBe(400);
    expect(refused.body.details?.[0]).toStrictEqual({ path: "parameters.output_root", message: "root 'archive_root' is not configured for storage 'azure_blob' (configured roots: output_root)" });
  });

  it("refuses path traversal, absolute paths, empty segments, backslashes and control characters", async () => {
    const bad = ["..", "../other-client", "demo1/../../x", "/etc", "a//b", "a\\b", "a\u0000b", "a\nb", "", "./a", "a/./b"];
    for (const folder of bad) {
      const voddelete = await submit("voddelete", { content_id: "c", folder });
      expect(voddelete.status, JSON.stringify(folder)).toBe(400);
      expect(voddelete.body.details?.[0]?.path).toBe("parameters.folder");
      expect((await submit("drmswitch", { content_id: "c", folder })).status, JSON.stringify(folder)).toBe(400);
      const files = await submit("asset_delete", { content_id: "c", files: ["ok.mp4", folder] });
      expect(files.status, JSON.stringify(folder)).toBe(400);
      expect(files.body.details?.[0]?.path).toBe("parameters.files[1]");
    }
  });

  it("refuses an empty files array", async () => {
    const refused = await submit("asset_delete", { content_id: "c", files: [] });
    expect(refused.status).toBe(400);
    expect(refused.body.details).toStrictEqual([{ path: "parameters.files", message: "files must list at least one file" }]);
  });
});
