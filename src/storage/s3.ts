import { AwsClient } from "aws4fetch";
import {
  deleteByListing,
  storageFailure,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type PutBody,
  type StorageDriver,
  type StoredObject,
} from "./driver";
import { base64, md5 } from "./md5";
import { assertSafeKey, assertSafePrefix, encodeKeyForUrl } from "./paths";
import { decodeXml, encodeXml, xmlElements, xmlText } from "./xml";

export interface S3Options {
  /** e.g. `https://s3.eu-west-1.amazonaws.com`, `https://<account>.r2.cloudflarestorage.com`, `http://127.0.0.1:9000`. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** `endpoint/bucket/key` (true) or `bucket.endpoint-host/key` (false, virtual-hosted). */
  pathStyle: boolean;
  fetch: typeof fetch;
}

/** S3's limit for one DeleteObjects request. */
const DELETE_BATCH = 1000;

/** Any S3-compatible endpoint, signed with SigV4 (aws4fetch). */
export class S3Driver implements StorageDriver {
  readonly kind = "s3";
  private readonly client: AwsClient;
  private readonly base: string;

  constructor(private readonly options: S3Options) {
    this.client = new AwsClient({
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      sessionToken: options.sessionToken,
      service: "s3",
      region: options.region,
      retries: 0,
    });
    const endpoint = new URL(options.endpoint);
    const path = endpoint.pathname.replace(/\/+$/, "");
    this.base = options.pathStyle
      ? `${endpoint.protocol}//${endpoint.host}${path}/${encodeURIComponent(options.bucket)}`
      : `${endpoint.protocol}//${options.bucket}.${endpoint.host}${path}`;
  }

  /** The URL of a key (or of the bucket with `key` ""). */
  url(key: string, query = ""): string {
    return `${this.base}/${key === "" ? "" : encodeKeyForUrl(key)}${query ? `?${query}` : ""}`;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    if (prefix !== "") assertSafePrefix(prefix);
    const query = new URLSearchParams({ "list-type": "2", prefix, "max-keys": String(Math.min(options.limit ?? 1000, 1000)) });
    if (options.cursor) query.set("continuation-token", options.cursor);
    const response = await this.send("GET", this.url("", query.toString()), "list", prefix);
    const xml = await response.text();
    const objects = xmlElements(xml, "Contents").map(
      (entry): ObjectInfo => ({
        key: xmlText(entry, "Key") ?? "",
        size: Number(xmlText(entry, "Size") ?? 0),
        etag: xmlText(entry, "ETag"),
        lastModified: xmlText(entry, "LastModified"),
      }),
    );
    const truncated = xmlText(xml, "IsTruncated") === "true";
    return { objects, cursor: truncated ? xmlText(xml, "NextContinuationToken") : null };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const response = await this.send("HEAD", this.url(assertSafeKey(key)), "head", key, [404]);
    if (response.status === 404) return null;
    return infoFromHeaders(key, response.headers);
  }

  async get(key: string): Promise<StoredObject | null> {
    const response = await this.send("GET", this.url(assertSafeKey(key)), "get", key, [404]);
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    return { info: infoFromHeaders(key, response.headers), body: response.body!, text: () => response.text() };
  }

  async put(key: string, body: PutBody, options: { contentType?: string } = {}): Promise<void> {
    const headers: Record<string, string> = {};
    if (options.contentType) headers["content-type"] = options.contentType;
    const response = await this.send("PUT", this.url(assertSafeKey(key)), "put", key, [], { body, headers });
    await response.body?.cancel();
  }

  async copy(from: string, to: string): Promise<void> {
    assertSafeKey(from);
    const source = `/${encodeURIComponent(this.options.bucket)}/${encodeKeyForUrl(from)}`;
    const response = await this.send("PUT", this.url(assertSafeKey(to)), "copy", from, [404], { headers: { "x-amz-copy-source": source } });
    const text = await response.text();
    if (response.status === 404) throw storageFailure("S3", "copy", from, 404, xmlText(text, "Code") ?? "NoSuchKey", "the source does not exist");
    // CopyObject may answer 200 with an error in the body.
    if (text.includes("<Error>")) throw storageFailure("S3", "copy", from, 500, xmlText(text, "Code") ?? "", xmlText(text, "Message") ?? "");
  }

  async move(from: string, to: string): Promise<void> {
    await this.copy(from, to);
    await this.delete([from]);
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(assertSafeKey);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${batch
        .map((key) => `<Object><Key>${encodeXml(key)}</Key></Object>`)
        .join("")}</Delete>`;
      const body = new TextEncoder().encode(xml);
      const response = await this.send("POST", this.url("", "delete="), "delete", "", [], {
        body,
        headers: { "content-type": "application/xml", "content-md5": base64(md5(body)) },
      });
      const result = await response.text();
      const errors = xmlElements(result, "Error").filter((error) => xmlText(error, "Code") !== "NoSuchKey");
      if (errors.length > 0) {
        const first = errors[0]!;
        throw storageFailure("S3", "delete", decodeXml(xmlText(first, "Key") ?? ""), 500, xmlText(first, "Code") ?? "", `${errors.length} of ${batch.length} keys not deleted`);
      }
    }
  }

  deletePrefix(prefix: string): Promise<string[]> {
    return deleteByListing(this, prefix);
  }

  private async send(
    method: string,
    url: string,
    operation: string,
    key: string,
    allowed: number[] = [],
    init: { body?: PutBody; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const request = await this.client.sign(url, { method, headers: init.headers, body: init.body });
    const response = await this.options.fetch(request);
    if (response.ok || allowed.includes(response.status)) return response;
    const text = method === "HEAD" ? "" : await response.text();
    throw storageFailure("S3", operation, key, response.status, xmlText(text, "Code") ?? "", xmlText(text, "Message") ?? "");
  }
}

function infoFromHeaders(key: string, headers: Headers): ObjectInfo {
  const modified = headers.get("last-modified");
  return {
    key,
    size: Number(headers.get("content-length") ?? 0),
    etag: headers.get("etag"),
    lastModified: modified ? new Date(modified).toISOString() : null,
  };
}
