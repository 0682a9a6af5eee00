import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { pathProblem, prefixProblem } from "../../storage/paths";
import { attemptFolder, workPrefix } from "../../storage/work-folder";
import { clientConfigText } from "../../db/clients";
import { errorMessage } from "../../domain/errors";
import { storageResolver } from "../../storage/resolve";
import type { StorageRoot } from "../../storage/root";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { leaseAddress } from "../lease-id";
import { newRouter } from "../router";
import { ErrorBody } from "../schemas";
import { callLease, ok, workerSecurity } from "./worker-leases";

/** R2's limit for one PUT (a larger output would need a multipart upload). */
const MAX_FILE_BYTES = 5 * 1024 ** 3;

const errorBody = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });
const fileErrors = {
  400: errorBody("Bad path, root or body"),
  401: errorBody("Missing, wrong or revoked pool token"),
  404: errorBody("No such lease, root or file"),
  409: errorBody("The lease's attempt has ended"),
  403: errorBody("PUT to a read-only root"),
  411: errorBody("PUT without Content-Length"),
  413: errorBody("Larger than 5 GiB"),
  416: errorBody("The range starts past the end of the file"),
  502: errorBody("The client's storage could not be read"),
  429: errorBody("Too many failed authentications from this address (Retry-After)"),
} as const;
const FileParams = z.object({
  lease_id: z.string().openapi({ param: { name: "lease_id", in: "path" } }),
  ref: z.string().openapi({ param: { name: "ref", in: "path" }, description: "A file root of the lease: `output` (its attempt's work folder, read and write) or one the task declares (`source`, read-only)" }),
  path: z.string().openapi({ param: { name: "path", in: "path" }, description: "A relative path below the root (may contain '/')" }),
});

// Documented through OpenAPI; served by the handlers below (a `{path}` spans segments, and bodies are streams).
export const workerFileDocs = [
  createRoute({
    method: "get",
    path: "/workers/leases/{lease_id}/files/{ref}/{path}",
    summary: "Download a file of the lease (streamed; Range honoured)",
    security: workerSecurity,
    request: { params: FileParams },
    responses: { 200: { description: "The file" }, 206: { description: "The requested range" }, ...fileErrors },
  }),
  createRoute({
    method: "put",
    path: "/workers/leases/{lease_id}/files/{ref}/{path}",
    summary: "Upload a file to a root the lease may write (streamed body, Content-Length required)",
    security: workerSecurity,
    request: {
      params: FileParams,
      // The raw bytes, any media type (stored as the file's content type).
      body: { required: true, content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } },
    },
    responses: {
      201: { description: "Stored", content: { "application/json": { schema: z.object({ path: z.string(), size: z.number(), md5: z.string().optional() }) } } },
      ...fileErrors,
    },
  }),
  createRoute({
    method: "get",
    path: "/workers/leases/{lease_id}/files/{ref}",
    summary: "List the files of a root (optionally below `prefix`; `…/{ref}/` is the same call)",
    security: workerSecurity,
    request: { params: FileParams.omit({ path: true }), query: z.object({ prefix: z.string().optional() }) },
    responses: { 200: { description: "The files", content: { "application/json": { schema: z.object({ files: z.array(z.object({ path: z.string(), size: z.number() })) }) } } }, ...fileErrors },
  }),
];

/** A root's files (below `prefix`), at most 10,000. */
async function listRoot(c: Context<AppEnv>): Promise<Response> {
  const lease = await checkedLease(c, false);
  const prefix = c.req.query("prefix") ?? "";
  if (prefix !== "" && prefixProblem(prefix)) throw new ApiError(400, "validation_failed", `prefix ${prefixProblem(prefix)}`);
  if (lease.kind === "storage") {
    const files: { path: string; size: number }[] = [];
    const base = lease.root.folder(lease.folder);
    for await (const object of lease.root.list(lease.folder)) {
      const path = object.key.slice(base.length);
      if (path.startsWith(prefix)) files.push({ path, size: object.size });
      if (files.length >= 10_000) break;
    }
    return c.json({ files }, 200);
  }
  const { root } = lease;
  const files: { path: string; size: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await c.env.MEDIA.list({ prefix: root + prefix, cursor, limit: 1000 });
    for (const object of page.objects) files.push({ path: object.key.slice(root.length), size: object.size });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor && files.length < 10_000);
  return c.json({ files }, 200);
}

/** The worker API's file calls: the lease's roots only, the same path safety as storage parameters. */
export const workerFileRoutes = newRouter()
  // Documented without the trailing slash; the form with it (what the reference worker sends) is the same call.
  .get("/workers/leases/:lease_id/files/:ref", listRoot)
  .get("/workers/leases/:lease_id/files/:ref/", listRoot)
  .get("/workers/leases/:lease_id/files/:ref/*", async (c) => {
    const lease = await checkedLease(c, true);
    if (lease.kind === "storage") {
      // A client storage root is read whole (its drivers stream whole objects; a Range header may be ignored).
      const joined = `${lease.folder}/${lease.path}`;
      const problem = pathProblem(joined);
      if (problem) throw new ApiError(400, "validation_failed", `path ${problem} (with the root's folder)`);
      const object = await lease.root.get(joined).catch((error: unknown) => {
        throw new ApiError(502, "internal", `The client's storage could not be read: ${errorMessage(error)}`);
      });
      if (!object) throw new ApiError(404, "not_found", "No such file.");
      return new Response(object.body, { status: 200, headers: { "content-type": "application/octet-stream", "content-length": String(object.info.size) } });
    }
    const { root, path } = lease;
    const key = root + path;
    const head = await c.env.MEDIA.head(key);
    if (!head) throw new ApiError(404, "not_found", "No such file.");
    const range = byteRange(c.req.header("range"), head.size);
    if (range === "unsatisfiable") {
      throw new ApiError(416, "validation_failed", `The range is outside the file (${head.size} bytes).`, undefined, { "content-range": `bytes */${head.size}` });
    }
    const object = await c.env.MEDIA.get(key, range ? { range: { offset: range.offset, length: range.length } } : {});
    if (!object) throw new ApiError(404, "not_found", "No such file.");
    const headers = new Headers({ "content-type": object.httpMetadata?.contentType ?? "application/octet-stream", etag: object.httpEtag, "accept-ranges": "bytes" });
    if (range) {
      headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`);
      headers.set("content-length", String(range.length));
      return new Response(object.body, { status: 206, headers });
    }
    headers.set("content-length", String(object.size));
    return new Response(object.body, { status: 200, headers });
  })
  .put("/workers/leases/:lease_id/files/:ref/*", async (c) => {
    const length = Number(c.req.header("content-length"));
    if (!c.req.header("content-length") || !Number.isInteger(length) || length < 0) throw new ApiError(411, "validation_failed", "Send Content-Length with the file.");
    if (length > MAX_FILE_BYTES) throw new ApiError(413, "payload_too_large", "A file may be at most 5 GiB.");
    const lease = await checkedLease(c, true);
    if (lease.kind === "storage") throw new ApiError(403, "forbidden", `The file root '${c.req.param("ref")}' of this lease is read-only.`);
    const { root, path } = lease;
    const stored = await c.env.MEDIA.put(root + path, c.req.raw.body ?? new Uint8Array(0), {
      httpMetadata: { contentType: c.req.header("content-type") ?? "application/octet-stream" },
    });
    const md5 = stored?.checksums.md5 ? [...new Uint8Array(stored.checksums.md5)].map((byte) => byte.toString(16).padStart(2, "0")).join("") : undefined;
    return c.json({ path, size: stored?.size ?? length, ...(md5 ? { md5 } : {}) }, 201);
  });

/**
 * One `bytes=` range of a file (RFC 9110 §14.1.2): first-last, first-, or -suffix; null when there is no
 * range or one this API does not serve in part (several ranges, other units, a malformed one): the whole
 * file is then sent, as the RFC allows. "unsatisfiable" when it starts past the end (416).
 */
export function byteRange(header: string | undefined, size: number): { offset: number; length: number } | null | "unsatisfiable" {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return null;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    return { offset: Math.max(0, size - suffix), length: Math.min(suffix, size) };
  }
  const first = Number(match[1]);
  const last = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (first >= size) return "unsatisfiable";
  if (last < first) return null;
  return { offset: first, length: last - first + 1 };
}

/** Where a lease's file root is: its attempt's folder of the job's work folder, or a folder of the client's storage. */
type LeaseRoot = { kind: "work"; root: string; path: string } | { kind: "storage"; root: StorageRoot; folder: string; path: string };

/**
 * The lease (current, this token's) and the root it names: `output` is the lease's own attempt folder in the
 * job's work folder; another root (`source`) is a read-only folder of the client's storage that the task's
 * definition declares. With `withPath`, the checked relative path after the root.
 */
async function checkedLease(c: Context<AppEnv>, withPath: boolean): Promise<LeaseRoot> {
  const leaseId = c.req.param("lease_id") ?? "";
  const ref = c.req.param("ref") ?? "";
  const address = leaseAddress(leaseId);
  if (!address) throw new ApiError(404, "not_found", "No such lease.");
  const answer = ok(await callLease(c, leaseId, { type: "look" }));
  const roots = answer.roots ?? {};
  if (ref !== "output" && !Object.hasOwn(roots, ref)) {
    throw new ApiError(404, "not_found", `No file root '${ref.slice(0, 64)}' in this lease (roots: ${["output", ...Object.keys(roots)].join(", ")}).`);
  }
  let path = "";
  if (withPath) {
    const marker = `/files/${ref}/`;
    try {
      path = decodeURIComponent(c.req.path.slice(c.req.path.indexOf(marker) + marker.length));
    } catch {
      throw new ApiError(400, "validation_failed", "path is not valid percent-encoding");
    }
    const problem = pathProblem(path);
    if (problem) throw new ApiError(400, "validation_failed", `path ${problem}`);
  }
  if (ref === "output") return { kind: "work", root: `${workPrefix(address.jobId)}${attemptFolder(address.task, address.attempt)}/`, path };
  const declared = roots[ref]!;
  const resolve = storageResolver((client) => clientConfigText(c.env.DB, client), { r2: { MEDIA: c.env.MEDIA }, fetch: (input, init) => fetch(input, init) });
  try {
    const root = (await resolve(answer.client!, declared.storage)).root(declared.root_key);
    return { kind: "storage", root, folder: declared.folder, path };
  } catch (error) {
    // The client's storage changed since the job was submitted: the lease cannot read it.
    throw new ApiError(409, "conflict", `The file root '${ref}' cannot be read: ${errorMessage(error)}`);
  }
}
