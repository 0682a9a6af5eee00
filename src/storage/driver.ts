import { NonRetryableError } from "../domain/errors";
import { assertSafePrefix } from "./paths";

/** One object as a listing or a head request shows it. */
export interface ObjectInfo {
  key: string;
  size: number;
  etag: string | null;
  /** ISO-8601, when the store says. */
  lastModified: string | null;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Pass back to get the next page; null on the last page. */
  cursor: string | null;
}

export interface ListOptions {
  cursor?: string | null;
  /** Page size (at most 1000). */
  limit?: number;
}

export interface StoredObject {
  info: ObjectInfo;
  body: ReadableStream<Uint8Array>;
  text(): Promise<string>;
}

export type PutBody = string | ArrayBuffer | Uint8Array;

/**
 * One storage back end (R2 binding, an S3-compatible endpoint, an Azure Blob container). Keys are full
 * object keys inside the bucket or container; every method re-checks them (paths.ts) and refuses unsafe
 * ones. Deleting a key that does not exist is not an error. Errors a retry cannot fix are
 * `NonRetryableError`s (missing source, access denied, unknown bucket).
 */
export interface StorageDriver {
  readonly kind: "r2" | "s3" | "azure_blob";
  /** Objects whose key starts with `prefix` (a folder's prefix ends with '/'), in key order, one page at a time. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  head(key: string): Promise<ObjectInfo | null>;
  get(key: string): Promise<StoredObject | null>;
  put(key: string, body: PutBody, options?: { contentType?: string }): Promise<void>;
  /** Server-side copy; a missing source is a NonRetryableError. */
  copy(from: string, to: string): Promise<void>;
  /** Copy, then delete the source. */
  move(from: string, to: string): Promise<void>;
  /** Deletes the keys (in batches where the store has them). */
  delete(keys: string[]): Promise<void>;
  /** Deletes every object under `prefix` (never empty) and returns the deleted keys. */
  deletePrefix(prefix: string): Promise<string[]>;
}

/** Every object under `prefix`, page after page. */
export async function* listAll(driver: StorageDriver, prefix: string, limit = 1000): AsyncGenerator<ObjectInfo> {
  let cursor: string | null = null;
  do {
    const page: ListPage = await driver.list(prefix, { cursor, limit });
    yield* page.objects;
    cursor = page.cursor;
  } while (cursor !== null);
}

/** Keys of every object under `prefix`. */
export async function listKeys(driver: StorageDriver, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of listAll(driver, prefix)) keys.push(object.key);
  return keys;
}

/**
 * delete-prefix for drivers without a native one: lists a page from the start, deletes it, and again,
 * until nothing is left. Listing from the start each time keeps cursors out of a changing listing.
 */
export async function deleteByListing(driver: StorageDriver, prefix: string, pageSize = 1000): Promise<string[]> {
  assertSafePrefix(prefix);
  const deleted: string[] = [];
  const seen = new Set<string>();
  for (;;) {
    const page = await driver.list(prefix, { limit: pageSize });
    const keys = page.objects.map((object) => object.key);
    if (keys.length === 0) return deleted;
    if (keys.some((key) => seen.has(key))) throw new Error(`objects under ${prefix} were deleted but are still listed; try again later`);
    await driver.delete(keys);
    for (const key of keys) seen.add(key);
    deleted.push(...keys);
  }
}

/** A store's error: permanent (4xx except 408/429) ones are NonRetryableErrors, the rest may succeed later. */
export function storageFailure(store: string, operation: string, key: string, status: number, code: string, detail = ""): Error {
  const message = `${store} ${operation} ${key === "" ? "" : `'${key}' `}failed: ${status}${code ? ` ${code}` : ""}${detail ? `: ${detail}` : ""}`;
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return permanent ? new NonRetryableError(message) : new Error(message);
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}
