import { z } from "zod";
import { pathProblem } from "../storage/paths";
import { httpUrlProblem } from "./endpoints";

/**
 * The storage section of a client's configuration (workflows.md, Storage): each storage name the client
 * uses (`S3`, `azure_blob`, `local`, `R2`) mapped to a driver and a location, with its named roots.
 * Credentials (`secret_access_key`, `session_token`, `sas_token`) are secrets: never returned nor logged.
 */

export const STORAGE_NAMES = ["S3", "azure_blob", "local", "R2"] as const;
export const StorageName = z.enum(STORAGE_NAMES);
export type StorageName = z.infer<typeof StorageName>;

/** The root key every workflow of this catalogue uses unless `parameters.output_root` picks another. */
export const DEFAULT_ROOT_KEY = "output_root";
/** The root a workflow's `source_folder` is read from (media.md, Sources). */
export const INPUT_ROOT_KEY = "input_root";

export const RootKey = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "must be a root key such as output_root");
/**
 * A root folder: "" (the whole bucket or container, only when written so) or a safe relative path; one
 * trailing '/' is dropped ("vod/" is the folder "vod"), as for a job's `folder`.
 */
const RootPath = z
  .string()
  .superRefine((path, ctx) => {
    const folder = path.endsWith("/") ? path.slice(0, -1) : path;
    const problem = path === "" ? null : folder === "" ? 'must not be "/" (write "" for the whole bucket)' : pathProblem(folder);
    if (problem) ctx.addIssue({ code: "custom", message: `root folder ${problem}` });
  })
  .transform((path) => (path.endsWith("/") ? path.slice(0, -1) : path));
const Roots = z.record(RootKey, RootPath).default({});
/**
 * Whether the operator allows this location's roots to overlap another client's on the same bucket (both
 * locations must say so). Off by default: one client's roots are nobody else's.
 */
const Shared = z.boolean().default(false);

/** An http(s) URL kept exactly as the operator wrote it (zod's url() would rewrite it), without query or fragment. */
const HttpUrl = z
  .string()
  .max(2048)
  .superRefine((url, ctx) => {
    const problem = httpUrlProblem(url) ?? (url.includes("?") || url.includes("#") ? "must have no query or fragment" : null);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export const R2Location = z.object({
  driver: z.literal("r2"),
  /** The Worker's R2 binding (wrangler.toml), e.g. MEDIA. */
  binding: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "must be an R2 binding name such as MEDIA"),
  roots: Roots,
  shared: Shared,
});

export const S3Location = z.object({
  driver: z.literal("s3"),
  endpoint: HttpUrl,
  region: z.string().regex(/^[a-z0-9-]{1,32}$/).default("us-east-1"),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
  /** Path-style URLs (`endpoint/bucket/key`); false: virtual-hosted (`bucket.host/key`). */
  path_style: z.boolean().default(false),
  access_key_id: z.string().min(1).max(256),
  secret_access_key: z.string().min(1).max(1024),
  session_token: z.string().min(1).max(4096).optional(),
  roots: Roots,
  shared: Shared,
});

export const AzureBlobLocation = z.object({
  driver: z.literal("azure_blob"),
  /** `https://<account>.blob.core.windows.net/<container>` */
  container_url: HttpUrl,
  sas_token: z.string().min(1).max(4096),
  roots: Roots,
  shared: Shared,
});

export const StorageLocationConfig = z.discriminatedUnion("driver", [R2Location, S3Location, AzureBlobLocation]);
export type StorageLocationConfig = z.infer<typeof StorageLocationConfig>;

export const StorageConfig = z
  .object({
    /** The storage used when a job names none; absent: the only configured one, else `S3` (the reference default). */
    default: StorageName.optional(),
    locations: z.partialRecord(StorageName, StorageLocationConfig).default({}),
  })
  .refine((config) => config.default === undefined || config.locations[config.default] !== undefined, {
    path: ["default"],
    message: "must name a configured location",
  });
export type StorageConfig = z.infer<typeof StorageConfig>;

/** The storage a job uses when it names none. */
export function defaultStorage(config: StorageConfig): StorageName {
  if (config.default) return config.default;
  const configured = Object.keys(config.locations) as StorageName[];
  return configured.length === 1 ? configured[0]! : "S3";
}

/** The client's location called `name`; only its own configured names count (never `__proto__` and kin). */
export function locationOf(config: StorageConfig, name: string): StorageLocationConfig | null {
  return Object.hasOwn(config.locations, name) ? (config.locations[name as StorageName] ?? null) : null;
}

/** Why `name` cannot be used by this client, or null. */
export function storageProblem(config: StorageConfig, name: string): string | null {
  if (locationOf(config, name)) return null;
  const configured = Object.keys(config.locations).sort();
  return `storage '${name}' is not configured for this client (configured: ${configured.length > 0 ? configured.join(", ") : "none"})`;
}

/**
 * The root folder of `rootKey` in a location ("" only when the operator configured the whole bucket), or null
 * when the location has no such root. Only the location's own keys count: `constructor` or `__proto__` are
 * not roots, and an unconfigured `input_root` is not the top of the bucket.
 */
export function rootFolder(location: StorageLocationConfig, rootKey: string): string | null {
  return Object.hasOwn(location.roots, rootKey) ? (location.roots[rootKey] ?? null) : null;
}

const MASK = "********";

/** The storage section as the API shows it: credentials masked. */
export function redactedStorage(config: StorageConfig): unknown {
  const locations = Object.fromEntries(
    Object.entries(config.locations).map(([name, location]) => {
      if (location.driver === "s3") {
        return [name, { ...location, secret_access_key: MASK, ...(location.session_token ? { session_token: MASK } : {}) }];
      }
      if (location.driver === "azure_blob") return [name, { ...location, sas_token: MASK }];
      return [name, location];
    }),
  );
  return { ...(config.default ? { default: config.default } : {}), locations };
}
