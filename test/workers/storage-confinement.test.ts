import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { listKeys } from "../../src/storage/driver";
import { R2Driver } from "../../src/storage/r2";
import { callWithBindings, createClient, postJson, waitForJobEnd } from "./helpers";

/**
 * Two tenants on one bucket (the MEDIA binding): each reaches only keys under the roots configured for it.
 * The defects of P5 items 1–3, tried through the API as a hostile client would.
 */

const ADMIN_TOKEN = "admin-token-for-confinement";
const media = new R2Driver(env.MEDIA);
const A_FILES = ["tenantA/asset/a.mp4", "tenantA/asset/b.mp4", "tenantA/asset/demo1_nodrm_g1.ism"];

let tenantA: Record<string, string>;
let tenantB: Record<string, string>;

function putStorage(client: string, storage: unknown): Promise<Response> {
  return callWithBindings(
    `/admin/clients/${client}/storage`,
    { method: "PUT", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(storage) },
    { ADMIN_TOKEN },
  );
}

const onMedia = (roots: Record<string, string>, shared?: boolean) => ({ default: "R2", locations: { R2: { driver: "r2", binding: "MEDIA", roots, ...(shared === undefined ? {} : { shared }) } } });

async function submit(headers: Record<string, string>, workflow: string, parameters: Record<string, unknown>) {
  const response = await postJson("/job", { job: { workflow }, parameters }, headers);
  return { status: response.status, body: (await response.json()) as { id?: string; code?: string; error?: string; details?: { path: string; message: string }[] } };
}

async function tenantAIntact(): Promise<void> {
  expect(await listKeys(media, "tenantA/")).toStrictEqual(A_FILES);
}

beforeAll(async () => {
  tenantA = await createClient("tenant-a");
  tenantB = await createClient("tenant-b");
  expect((await putStorage("tenant-a", onMedia({ output_root: "tenantA" }))).status).toBe(200);
  expect((await putStorage("tenant-b", onMedia({ output_root: "tenantB" }))).status).toBe(200);
  for (const key of A_FILES) await env.MEDIA.put(key, `A's ${key}`);
});

describe("a root the client has not configured is refused, never the top of the bucket", () => {
  it("voddelete and asset_delete with output_root naming an unconfigured root key: 400, nothing deleted", async () => {
    const voddelete = await submit(tenantB, "voddelete", { folder: "tenantA/asset", output_root: "input_root" });
    expect(voddelete.status).toBe(400);
    expect(voddelete.body.details).toStrictEqual([
      { path: "parameters.output_root", message: "root 'input_root' is not configured for storage 'R2' (configured roots: output_root)" },
    ]);
    const assetDelete = await submit(tenantB, "asset_delete", { content_id: "x", files: A_FILES, output_root: "input_root" });
    expect(assetDelete.status).toBe(400);
    await tenantAIntact();
  });

  it("Object.prototype names as root keys are refused (never '[object Object]' or 'function Object()')", async () => {
    for (const root of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype"]) {
      const refused = await submit(tenantB, "voddelete", { folder: "asset", output_root: root });
      expect(refused.status, root).toBe(400);
      expect(refused.body.details?.[0]?.path, root).toBe("parameters.output_root");
    }
  });

  it("another tenant's paths below one's own root are just missing files there: the other tenant's objects stay", async () => {
    const accepted = await submit(tenantB, "asset_delete", { content_id: "x", files: A_FILES });
    expect(accepted.status).toBe(202);
    const job = await waitForJobEnd(accepted.body.id!, tenantB);
    expect(job.result).toMatchObject({ missing: A_FILES });
    await tenantAIntact();
  });

  it("a root removed after submission fails the task without a retry, deleting nothing", async () => {
    const client = await createClient("tenant-c");
    expect((await putStorage("tenant-c", onMedia({ output_root: "tenantC", scratch_root: "tenantC-scratch" }))).status).toBe(200);
    await env.MEDIA.put("tenantC-scratch/x/keep.txt", "keep");
    const accepted = await postJson("/job", { job: { workflow: "voddelete", run_at: new Date(Date.now() + 1500).toISOString() }, parameters: { folder: "x", output_root: "scratch_root" } }, client);
    const { id } = (await accepted.json()) as { id: string };
    expect(accepted.status).toBe(202);
    expect((await putStorage("tenant-c", onMedia({ output_root: "tenantC" }))).status).toBe(200);
    const job = await waitForJobEnd(id, client, 15_000);
    expect(job).toMatchObject({ failed: true });
    expect(job.tasks![0]).toMatchObject({ task_name: "list_folder", state: "failed", attempts: 1, message: "root 'scratch_root' is not configured for storage 'R2'" });
    expect(await env.MEDIA.head("tenantC-scratch/x/keep.txt")).not.toBeNull();
  });
});

describe("drmswitch checks content_id as a file-name part", () => {
  it("refuses '..', '.', a '/' or a backslash in content_id at submission", async () => {
    for (const contentId of ["..", ".", "sub/dir", "../../x", "a\\b"]) {
      const refused = await submit(tenantA, "drmswitch", { content_id: contentId, folder: "asset", enable_drm: false });
      expect(refused.status, contentId).toBe(400);
      expect(refused.body.details?.[0]?.path, contentId).toBe("parameters.content_id");
    }
    await tenantAIntact();
  });
});

describe("PUT /admin/clients/{name}/storage refuses roots that overlap another client's on the same bucket", () => {
  it("refuses the same root, a root inside or around another client's, and the whole bucket (409, naming the overlap)", async () => {
    await createClient("tenant-d");
    for (const root of ["tenantA", "tenantA/asset", ""]) {
      const refused = await putStorage("tenant-d", onMedia({ output_root: root }));
      expect(refused.status, root).toBe(409);
      const body = (await refused.json()) as { code: string; details: { path: string; message: string }[] };
      expect(body.code).toBe("conflict");
      expect(body.details[0]).toMatchObject({ path: "locations.R2.roots.output_root", message: expect.stringContaining("overlaps client 'tenant-a' root output_root") });
    }
    // A name that only starts like another root is another folder.
    expect((await putStorage("tenant-d", onMedia({ output_root: "tenantAB" }))).status).toBe(200);
    // Another bucket is another place.
    expect((await putStorage("tenant-d", { locations: { S3: { driver: "s3", endpoint: "https://s3.eu-west-1.amazonaws.com", bucket: "other", access_key_id: "a", secret_access_key: "b", roots: { output_root: "tenantA" } } } })).status).toBe(200);
  });

  it("allows an overlap only when both locations are marked shared", async () => {
    await createClient("tenant-e");
    await createClient("tenant-f");
    expect((await putStorage("tenant-e", onMedia({ output_root: "common" }, true))).status).toBe(200);
    expect((await putStorage("tenant-f", onMedia({ output_root: "common/f" }))).status).toBe(409);
    expect((await putStorage("tenant-f", onMedia({ output_root: "common/f" }, true))).status).toBe(200);
  });
});
