import type { StorageConfig, StorageLocationConfig } from "./storage-config";

/**
 * Two clients' roots on one bucket may not overlap unless the operator marks both locations `shared`
 * (workflows.md, Storage): otherwise one client's `voddelete` could reach the other's files.
 */

/** One configured root of a client, where it lives. */
export interface RootClaim {
  client: string;
  storage: string;
  rootKey: string;
  /** The bucket or container, one name however its location is spelled (bucketOf). */
  bucket: string;
  /** The root folder in it ("" = the whole bucket). */
  folder: string;
  shared: boolean;
}

/** A root of the new configuration that overlaps another client's. */
export interface RootOverlap {
  /** Where in the storage configuration, e.g. `locations.R2.roots.output_root`. */
  path: string;
  message: string;
}

/**
 * The bucket or container a location reaches, normalised so that spellings of the same one compare equal:
 * host names are case-insensitive, and every `*.amazonaws.com` endpoint reaches the one global namespace
 * of AWS S3 bucket names (regional, dual-stack and path-style endpoints alike).
 */
export function bucketOf(location: StorageLocationConfig): string {
  switch (location.driver) {
    case "r2":
      return `r2:${location.binding}`;
    case "s3": {
      const host = new URL(location.endpoint).host.toLowerCase();
      return `s3:${host === "amazonaws.com" || host.endsWith(".amazonaws.com") ? "aws" : host}/${location.bucket}`;
    }
    case "azure_blob": {
      const url = new URL(location.container_url);
      return `azure:${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, "").toLowerCase()}`;
    }
    default: {
      const never: never = location;
      throw new Error(`unknown storage driver ${JSON.stringify(never)}`);
    }
  }
}

/** Every root a client's storage configuration claims. */
export function rootClaims(client: string, config: StorageConfig): RootClaim[] {
  return Object.entries(config.locations).flatMap(([storage, location]) =>
    location
      ? Object.entries(location.roots).map(([rootKey, folder]) => ({ client, storage, rootKey, bucket: bucketOf(location), folder, shared: location.shared }))
      : [],
  );
}

/** Whether two root folders of one bucket share any key: one is the other, or lies inside it ("" holds all). */
export function foldersOverlap(a: string, b: string): boolean {
  return a === "" || b === "" || a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** The roots of `client`'s new storage configuration that overlap another client's without both being shared. */
export function rootOverlaps(client: string, config: StorageConfig, others: readonly { client: string; config: StorageConfig }[]): RootOverlap[] {
  const theirs = others.filter((other) => other.client !== client).flatMap((other) => rootClaims(other.client, other.config));
  const problems: RootOverlap[] = [];
  for (const mine of rootClaims(client, config)) {
    for (const other of theirs) {
      if (other.bucket !== mine.bucket || !foldersOverlap(mine.folder, other.folder) || (mine.shared && other.shared)) continue;
      problems.push({
        path: `locations.${mine.storage}.roots.${mine.rootKey}`,
        message:
          `root '${mine.folder || "(the whole bucket)"}' overlaps client '${other.client}' root ${other.rootKey} ` +
          `('${other.folder || "(the whole bucket)"}' in its ${other.storage} location) on the same bucket; ` +
          `mark both locations "shared": true to allow it`,
      });
    }
  }
  return problems;
}
