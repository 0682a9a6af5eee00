import { describe, expect, it } from "vitest";
import { StorageConfig } from "../../src/domain/storage-config";
import { NonRetryableError } from "../../src/domain/errors";
import type { ExecutorContext } from "../../src/executors/executor";
import { getFilenames, prepareSwitch, renameManifests, type GetFilenamesOutput, type RenameManifestsOutput } from "../../src/executors/drm-switch";
import { deleteFiles, type DeleteFilesOutput } from "../../src/executors/storage-files";
import { deleteByListing, type ListPage, type ObjectInfo, type StorageDriver, type StoredObject } from "../../src/storage/driver";
import type { SwitchPlan } from "../../src/domain/drm-manifests";
import { StorageLocation } from "../../src/storage/location";
import { assertSafeKey } from "../../src/storage/paths";
import { NO_DRM } from "../support/no-drm";

/** A map-backed driver that records every change, to check what a reader could see between them. */
class MemoryDriver implements StorageDriver {
  readonly kind = "r2";
  readonly objects = new Map<string, string>();
  readonly snapshots: string[][] = [];

  private changed(): void {
    this.snapshots.push([...this.objects.keys()].sort());
  }
  async list(prefix: string): Promise<ListPage> {
    const objects = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort().map((key) => this.info(key));
    return { objects, cursor: null };
  }
  async head(key: string): Promise<ObjectInfo | null> {
    return this.objects.has(assertSafeKey(key)) ? this.info(key) : null;
  }
  async get(key: string): Promise<StoredObject | null> {
    const body = this.objects.get(assertSafeKey(key));
    return body === undefined ? null : { info: this.info(key), body: new Response(body).body!, text: async () => body };
  }
  async put(key: string, body: string | ArrayBuffer | Uint8Array): Promise<void> {
    this.objects.set(assertSafeKey(key), typeof body === "string" ? body : new TextDecoder().decode(body));
    this.changed();
  }
  async copy(from: string, to: string): Promise<void> {
    const body = this.objects.get(from);
    if (body === undefined) throw new NonRetryableError(`missing ${from}`);
    await this.put(to, body);
  }
  async move(from: string, to: string): Promise<void> {
    await this.copy(from, to);
    await this.delete([from]);
  }
  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.objects.delete(assertSafeKey(key));
    this.changed();
  }
  deletePrefix(prefix: string): Promise<string[]> {
    return deleteByListing(this, prefix);
  }
  private info(key: string): ObjectInfo {
    return { key, size: this.objects.get(key)?.length ?? 0, etag: null, lastModified: null };
  }
}

const DRM = `<smil><head><param name="iss.license_server_url" value="x"/></head></smil>`;
const CLEAR = `<smil><head></head></smil>`;

function context(driver: MemoryDriver): ExecutorContext {
  const config = StorageConfig.parse({ locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "vod" } } } });
  return {
    jobId: "job",
    client: "client",
    taskName: "task",
    attempt: 1,
    work: { get: async () => null, list: async () => [], clear: async () => undefined },
    signal: new AbortController().signal,
    log: () => undefined,
    progress: () => undefined,
    drm: NO_DRM,
    storage: async (name) => new StorageLocation(name, driver, config.locations.R2!),
  };
}

async function switchTo(driver: MemoryDriver, enable_drm: boolean): Promise<{ plan: SwitchPlan; output: RenameManifestsOutput }> {
  const ctx = context(driver);
  const listing = (await getFilenames({ storage: "R2", root_key: "output_root", folder: "demo1", content_id: "demo1" }, ctx)) as GetFilenamesOutput;
  const plan = (await prepareSwitch({ listing, enable_drm, content_id: "demo1" }, ctx)) as SwitchPlan;
  const output = (await renameManifests({ storage: "R2", root_key: "output_root", folder: "demo1", plan }, ctx)) as RenameManifestsOutput;
  return { plan, output };
}

describe("drmswitch executors", () => {
  it("never leaves the folder without an active manifest: the new one is in place before the old one is parked", async () => {
    const driver = new MemoryDriver();
    driver.objects.set("vod/demo1/demo1_drm_g1.ism", DRM);
    driver.objects.set("vod/demo1/1700000000_g2_demo1.drm", CLEAR);
    const { output } = await switchTo(driver, false);
    expect(output.active).toBe("vod/demo1/demo1_nodrm_g2.ism");
    for (const snapshot of driver.snapshots) expect(snapshot.filter((key) => key.endsWith(".ism")).length, snapshot.join(" ")).toBeGreaterThanOrEqual(1);
    // The first change puts the new active manifest in place while the old one is still there.
    expect(driver.snapshots[0]).toStrictEqual(["vod/demo1/1700000000_g2_demo1.drm", "vod/demo1/demo1_drm_g1.ism", "vod/demo1/demo1_nodrm_g2.ism"]);
  });

  it("a repeated rename (a retried attempt) finds the work done and reports the same files", async () => {
    const driver = new MemoryDriver();
    driver.objects.set("vod/demo1/demo1_drm_g1.ism", DRM);
    driver.objects.set("vod/demo1/1700000000_g2_demo1.drm", CLEAR);
    const { plan, output } = await switchTo(driver, false);
    const before = [...driver.objects.keys()].sort();
    expect(await renameManifests({ storage: "R2", root_key: "output_root", folder: "demo1", plan }, context(driver))).toStrictEqual(output);
    expect([...driver.objects.keys()].sort()).toStrictEqual(before);
  });

  it("reads parked manifests to tell DRM from clear, and names a legacy active manifest with a new guid", async () => {
    const driver = new MemoryDriver();
    driver.objects.set("vod/demo1/demo1.ism", CLEAR);
    driver.objects.set("vod/demo1/1700000000_g5_demo1.drm", DRM);
    driver.objects.set("vod/demo1/sub/1700000000_g6_demo1.drm", CLEAR);
    const { output } = await switchTo(driver, true);
    expect(output.active).toBe("vod/demo1/demo1_drm_g5.ism");
    expect(output.files[1]).toMatch(/^vod\/demo1\/\d+_[0-9a-f-]{36}_demo1\.drm$/);
    const back = await switchTo(driver, false);
    expect(back.output.active).toMatch(/^vod\/demo1\/demo1_nodrm_[0-9a-f-]{36}\.ism$/);
  });

  it("a park that fails undoes the activation: the folder is switched or left exactly as it was", async () => {
    const driver = new MemoryDriver();
    driver.objects.set("vod/demo1/demo1_drm_g1.ism", DRM);
    driver.objects.set("vod/demo1/1700000000_g2_demo1.drm", CLEAR);
    const before = new Map(driver.objects);
    const ctx = context(driver);
    const listing = (await getFilenames({ storage: "R2", root_key: "output_root", folder: "demo1", content_id: "demo1" }, ctx)) as GetFilenamesOutput;
    const plan = (await prepareSwitch({ listing, enable_drm: false, content_id: "demo1" }, ctx)) as SwitchPlan;
    const move = driver.move.bind(driver);
    driver.move = async (from, to) => {
      if (from.endsWith("demo1_drm_g1.ism")) throw new Error("store unavailable");
      return move(from, to);
    };
    await expect(renameManifests({ storage: "R2", root_key: "output_root", folder: "demo1", plan }, ctx)).rejects.toThrow("store unavailable");
    expect(driver.objects).toStrictEqual(before);
    // The retry (the store is back) completes the same plan.
    driver.move = move;
    const output = (await renameManifests({ storage: "R2", root_key: "output_root", folder: "demo1", plan }, ctx)) as RenameManifestsOutput;
    expect(output.active).toBe("vod/demo1/demo1_nodrm_g2.ism");
    expect([...driver.objects.keys()].filter((key) => key.endsWith(".ism"))).toStrictEqual(["vod/demo1/demo1_nodrm_g2.ism"]);
  });

  it("refuses a plan whose names leave the folder before anything moves", async () => {
    const driver = new MemoryDriver();
    driver.objects.set("vod/demo1/demo1_drm_g1.ism", DRM);
    driver.objects.set("vod/demo1/1700000000_g2_demo1.drm", CLEAR);
    const before = new Map(driver.objects);
    const plan: SwitchPlan = { activate: [{ from: "1700000000_g2_demo1.drm", to: "demo1_nodrm_g2.ism" }], park: [{ from: "demo1_drm_g1.ism", to: "1_g1_../x.drm" }], active: "demo1_nodrm_g2.ism" };
    await expect(renameManifests({ storage: "R2", root_key: "output_root", folder: "demo1", plan }, context(driver))).rejects.toBeInstanceOf(NonRetryableError);
    expect(driver.objects).toStrictEqual(before);
    expect(driver.snapshots).toStrictEqual([]);
  });

  it("an empty folder fails without retry", async () => {
    await expect(getFilenames({ storage: "R2", root_key: "output_root", folder: "empty", content_id: "x" }, context(new MemoryDriver()))).rejects.toBeInstanceOf(NonRetryableError);
  });
});

describe("delete_files executor", () => {
  it("deletes existing files, reports missing ones for the job log", async () => {
    const driver = new MemoryDriver();
    driver.objects.set("vod/a/x.gif", "x");
    const output = (await deleteFiles({ storage: "R2", root_key: "output_root", files: ["a/x.gif", "a/y.gif"] }, context(driver))) as DeleteFilesOutput;
    expect(output).toStrictEqual({ deleted: ["vod/a/x.gif"], missing: ["a/y.gif"], log: ["file 'a/y.gif' does not exist in storage 'R2': nothing to delete"] });
    expect(driver.objects.size).toBe(0);
  });

  it("re-checks paths: an unsafe one fails without retry, before anything is deleted", async () => {
    const driver = new MemoryDriver();
    driver.objects.set("vod/a/x.gif", "x");
    await expect(deleteFiles({ storage: "R2", root_key: "output_root", files: ["a/x.gif", "../secret"] }, context(driver))).rejects.toBeInstanceOf(NonRetryableError);
    await expect(deleteFiles({ storage: "R2", root_key: "other_root", files: ["a/x.gif"] }, context(driver))).rejects.toThrow("root 'other_root' is not configured for storage 'R2'");
    expect(driver.objects.size).toBe(1);
  });
});
