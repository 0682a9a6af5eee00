import { describe, expect, it } from "vitest";
import { parseClientConfig, redactedConfig } from "../../src/domain/client-config";
import { defaultStorage, rootFolder, StorageConfig, storageProblem } from "../../src/domain/storage-config";
import { AssetDeleteParameters } from "../../src/workflows/asset-delete";
import { DrmswitchParameters } from "../../src/workflows/drmswitch";
import { VoddeleteParameters } from "../../src/workflows/voddelete";

const r2 = { driver: "r2", binding: "MEDIA", roots: { output_root: "vod/", input_root: "in" } } as const;

describe("storage configuration", () => {
  it("parses locations, trims root slashes and picks the default", () => {
    const config = StorageConfig.parse({ locations: { R2: r2 } });
    expect(config.locations.R2).toStrictEqual({ driver: "r2", binding: "MEDIA", roots: { output_root: "vod", input_root: "in" }, shared: false });
    expect(defaultStorage(config)).toBe("R2");
    expect(defaultStorage(StorageConfig.parse({}))).toBe("S3");
    expect(defaultStorage(StorageConfig.parse({ default: "R2", locations: { R2: r2, local: r2 } }))).toBe("R2");
    expect(defaultStorage(StorageConfig.parse({ locations: { R2: r2, local: r2 } }))).toBe("S3");
  });

  it("resolves only configured roots: an unconfigured one is never the top of the bucket", () => {
    const location = StorageConfig.parse({ locations: { R2: r2 } }).locations.R2!;
    expect(rootFolder(location, "output_root")).toBe("vod");
    expect(rootFolder(location, "archive_root")).toBeNull();
    const bare = StorageConfig.parse({ locations: { R2: { driver: "r2", binding: "MEDIA" } } }).locations.R2!;
    expect(rootFolder(bare, "output_root")).toBeNull();
    expect(rootFolder(bare, "input_root")).toBeNull();
    // The whole bucket only when the operator says so.
    expect(rootFolder(StorageConfig.parse({ locations: { R2: { ...r2, roots: { output_root: "" } } } }).locations.R2!, "output_root")).toBe("");
  });

  it("refuses a root of only slashes: the whole bucket is a root only when written as \"\"", () => {
    for (const root of ["/", "//"]) expect(StorageConfig.safeParse({ locations: { R2: { ...r2, roots: { output_root: root } } } }).success, root).toBe(false);
    expect(StorageConfig.parse({ locations: { R2: { ...r2, roots: { output_root: "" } } } }).locations.R2!.roots.output_root).toBe("");
    expect(StorageConfig.safeParse({ locations: { R2: { ...r2, roots: { output_root: "vod//" } } } }).success).toBe(false);
  });

  it("reads roots and locations as own keys only: Object.prototype names are not roots", () => {
    const config = StorageConfig.parse({ locations: { R2: r2 } });
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"]) {
      expect(rootFolder(config.locations.R2!, name), name).toBeNull();
      expect(storageProblem(config, name), name).toMatch(/is not configured/);
    }
    // A "__proto__" key in configuration JSON is not taken as a root, and changes no prototype.
    const parsed = StorageConfig.parse({ locations: { R2: { ...r2, roots: JSON.parse('{"__proto__": "x", "output_root": "vod"}') } } }).locations.R2!;
    expect(rootFolder(parsed, "__proto__")).toBeNull();
    expect(Object.getPrototypeOf(parsed.roots)).toBe(Object.prototype);
  });

  it("names the configured storages when one is missing", () => {
    expect(storageProblem(StorageConfig.parse({ locations: { R2: r2 } }), "S3")).toBe("storage 'S3' is not configured for this client (configured: R2)");
  });

  it("keeps old configurations parsing, and masks credentials", () => {
    expect(parseClientConfig(JSON.stringify({ callback_rules: [] })).storage).toStrictEqual({ locations: {} });
    const config = parseClientConfig(
      JSON.stringify({
        storage: {
          locations: {
            S3: { driver: "s3", endpoint: "https://s3.amazonaws.com", bucket: "b-1", access_key_id: "AK", secret_access_key: "SECRET", session_token: "TOKEN" },
            azure_blob: { driver: "azure_blob", container_url: "https://a.blob.core.windows.net/c", sas_token: "SAS" },
          },
        },
      }),
    );
    const shown = JSON.stringify(redactedConfig(config));
    for (const secret of ["SECRET", "TOKEN", "SAS"]) expect(shown).not.toContain(`"${secret}"`);
    expect(shown).toContain('"access_key_id":"AK"');
  });
});

describe("workflow parameters", () => {
  it("voddelete: folder required and safe, content_id optional, trailing slash dropped", () => {
    expect(VoddeleteParameters.parse({ folder: "demo1/" })).toMatchObject({ folder: "demo1", rest_endpoints: [] });
    expect(VoddeleteParameters.safeParse({ content_id: "c" }).success).toBe(false);
    expect(VoddeleteParameters.safeParse({ folder: "../x" }).success).toBe(false);
    expect(VoddeleteParameters.safeParse({ folder: "a", source_storage: "GCS" }).success).toBe(false);
  });

  it("asset_delete: at least one file, each a safe path", () => {
    expect(AssetDeleteParameters.safeParse({ content_id: "c", files: [] }).success).toBe(false);
    expect(AssetDeleteParameters.safeParse({ content_id: "c", files: ["a", "/b"] }).success).toBe(false);
    expect(AssetDeleteParameters.parse({ content_id: "c", files: ["demo-content/assets/foo.gif"] }).files).toStrictEqual(["demo-content/assets/foo.gif"]);
  });

  it("drmswitch: reference defaults (drm [], cpix false) and enable_drm true", () => {
    expect(DrmswitchParameters.parse({ content_id: "demo1", folder: "demo1" })).toMatchObject({ drm: [], cpix: false, enable_drm: true });
    expect(DrmswitchParameters.safeParse({ content_id: "demo1", folder: "demo1", drm: ["rot13"] }).success).toBe(false);
  });
});
