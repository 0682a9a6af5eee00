import {
  deleteByListing,
  forEachLimit,
  storageFailure,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type PutBody,
  type StorageDriver,
  type StoredObject,
} from "./driver";
import { assertSafeKey, assertSafePrefix, encodeKeyForUrl } from "./paths";
import { xmlElements, xmlText } from "./xml";

export interface AzureBlobOptions {
  /** e.g. `https://<account>.blob.core.windows.net/<container>` (no query). */
  containerUrl: string;
  /** A SAS token (with or without the leading '?') with read, write, delete and list permissions. */
  sasToken: string;
  fetch: typeof fetch;
  /** How long to wait for a pending server-side copy. */
  copyTimeoutMs?: number;
}

const API_VERSION = "2021-08-06";
/** Parallel Delete Blob requests (Azure has no multi-delete outside the batch API). */
const DELETE_CONCURRENCY = 16;

/** An Azure Blob Storage container through the Blob REST API, authorised by a SAS token. */
export class AzureBlobDriver implements StorageDriver {
  readonly kind = "azure_blob";
  private readonly container: string;
  private readonly sas: string;

  constructor(private readonly options: AzureBlobOptions) {
    this.container = options.containerUrl.replace(/\/+$/, "");
    this.sas = options.sasToken.replace(/^\?/, "");
  }

  private url(key: string, query = ""): string {
    const path = key === "" ? "" : `/${encodeKeyForUrl(key)}`;
    return `${this.container}${path}?${query}${query ? "&" : ""}${this.sas}`;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    if (prefix !== "") assertSafePrefix(prefix);
    const query = new URLSearchParams({ restype: "container", comp: "list", prefix, maxresults: String(Math.min(options.limit ?? 1000, 5000)) });
    if (options.cursor) query.set("marker", options.cursor);
    const response = await this.send("GET", this.url("", query.toString()), "list", prefix);
    const xml = await response.text();
    const objects = xmlElements(xml, "Blob").map((blob): ObjectInfo => {
      const modified = xmlText(blob, "Last-Modified");
      return {
        key: xmlText(blob, "Name") ?? "",
        size: Number(xmlText(blob, "Content-Length") ?? 0),
        etag: xmlText(blob, "Etag"),
        lastModified: modified ? new Date(modified).toISOString() : null,
      };
    });
    const next = xmlText(xml, "NextMarker");
    return { objects, cursor: next ? next : null };
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
    const headers: Record<string, string> = { "x-ms-blob-type": "BlockBlob" };
    if (options.contentType) headers["x-ms-blob-content-type"] = options.contentType;
    const response = await this.send("PUT", this.url(assertSafeKey(key)), "put", key, [], { body, headers });
    await response.body?.cancel();
  }

  /** Copy Blob; a copy the service runs asynchronously is polled until it ends. */
  async copy(from: string, to: string): Promise<void> {
    assertSafeKey(from);
    // Under a SAS, the source needs its own authorisation: the same token, on the source URL.
    const response = await this.send("PUT", this.url(assertSafeKey(to)), "copy", from, [404], { headers: { "x-ms-copy-source": this.url(from) } });
    await response.body?.cancel();
    if (response.status === 404) throw storageFailure("Azure Blob", "copy", from, 404, response.headers.get("x-ms-error-code") ?? "BlobNotFound", "the source does not exist");
    let status = response.headers.get("x-ms-copy-status");
    const deadline = Date.now() + (this.options.copyTimeoutMs ?? 10 * 60_000);
    for (let wait = 100; status === "pending"; wait = Math.min(wait * 2, 5_000)) {
      if (Date.now() > deadline) throw new Error(`Azure Blob copy '${from}' is still pending`);
      await new Promise((resolve) => setTimeout(resolve, wait));
      const head = await this.send("HEAD", this.url(to), "copy", to);
      status = head.headers.get("x-ms-copy-status");
    }
    if (status !== null && status !== "success") throw storageFailure("Azure Blob", "copy", from, 500, status, "the copy did not succeed");
  }

  async move(from: string, to: string): Promise<void> {
    await this.copy(from, to);
    await this.delete([from]);
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(assertSafeKey);
    await forEachLimit(keys, DELETE_CONCURRENCY, async (key) => {
      const response = await this.send("DELETE", this.url(key), "delete", key, [404], { headers: { "x-ms-delete-snapshots": "include" } });
      await response.body?.cancel();
    });
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
    const response = await this.options.fetch(url, {
      method,
      body: init.body,
      headers: { "x-ms-version": API_VERSION, "x-ms-date": new Date().toUTCString(), ...init.headers },
    });
    if (response.ok || allowed.includes(response.status)) return response;
    const text = method === "HEAD" ? "" : await response.text();
    // Never the URL in a message: it carries the SAS token.
    throw storageFailure("Azure Blob", operation, key, response.status, response.headers.get("x-ms-error-code") ?? xmlText(text, "Code") ?? "", xmlText(text, "Message")?.split("\n")[0] ?? "");
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
