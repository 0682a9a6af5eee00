import { NonRetryableError } from "../domain/errors";
import { deleteByListing, type ListOptions, type ListPage, type ObjectInfo, type PutBody, type StorageDriver, type StoredObject } from "./driver";
import { assertSafeKey, assertSafePrefix } from "./paths";

/** R2's limit for one delete call. */
const DELETE_BATCH = 1000;

/** A bucket bound to the Worker (R2 binding). */
export class R2Driver implements StorageDriver {
  readonly kind = "r2";

  constructor(private readonly bucket: R2Bucket) {}

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    if (prefix !== "") assertSafePrefix(prefix);
    const listed = await this.bucket.list({ prefix, limit: Math.min(options.limit ?? 1000, 1000), cursor: options.cursor ?? undefined });
    return { objects: listed.objects.map(info), cursor: listed.truncated ? listed.cursor : null };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const object = await this.bucket.head(assertSafeKey(key));
    return object ? info(object) : null;
  }

  async get(key: string): Promise<StoredObject | null> {
    const object = await this.bucket.get(assertSafeKey(key));
    return object ? { info: info(object), body: object.body, text: () => object.text() } : null;
  }

  async put(key: string, body: PutBody, options: { contentType?: string } = {}): Promise<void> {
    await this.bucket.put(assertSafeKey(key), body, options.contentType ? { httpMetadata: { contentType: options.contentType } } : undefined);
  }

  /** R2 bindings have no server-side copy: the object streams through the Worker with its metadata. */
  async copy(from: string, to: string): Promise<void> {
    assertSafeKey(to);
    const source = await this.bucket.get(assertSafeKey(from));
    if (!source) throw new NonRetryableError(`R2 copy '${from}' failed: the source does not exist`);
    const { readable, writable } = new FixedLengthStream(source.size);
    const piped = source.body.pipeTo(writable);
    await this.bucket.put(to, readable, { httpMetadata: source.httpMetadata, customMetadata: source.customMetadata });
    await piped;
  }

  async move(from: string, to: string): Promise<void> {
    await this.copy(from, to);
    await this.bucket.delete(from);
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(assertSafeKey);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) await this.bucket.delete(keys.slice(i, i + DELETE_BATCH));
  }

  deletePrefix(prefix: string): Promise<string[]> {
    return deleteByListing(this, prefix);
  }
}

function info(object: R2Object): ObjectInfo {
  return { key: object.key, size: object.size, etag: object.httpEtag, lastModified: object.uploaded.toISOString() };
}
