import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { pathProblem, prefixProblem } from "../../storage/paths";
import { workKey, workPrefix } from "../../storage/work-folder";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { leaseAddress } from "../lease-id";
import { newRouter } from "../router";
import { ErrorBody } from "../schemas";
import { callLease, ok, workerSecurity } from "./worker-leases";

/** R2's limit for one PUT (a larger output would need a multipart upload). */
const MAX_FILE_BYTES = 5 * 1024 ** 3;
/** The lease's only file root: the job's work folder (read and write). */
const ROOTS = new Set(["output"]);

const errorBody = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });
const fileErrors = {
  400: errorBody("Bad path, root or body"),
  401: errorBody("Missing, wrong or revoked pool token"),
  404: errorBody("No such lease, root or file"),
  409: errorBody("The lease's attempt has ended"),
  411: errorBody("PUT without Content-Length"),
  413: errorBody("Larger than 5 GiB"),
  429: errorBody("Too many failed authentications from this address (Retry-After)"),
} as const;
const FileParams = z.object({
  lease_id: z.string().openapi({ param: { name: "lease_id", in: "path" } }),
  ref: z.string().openapi({ param: { name: "ref", in: "path" }, description: "A file root of the lease (`output`)" }),
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
    request: { params: FileParams },
    responses: {
      201: { description: "Stored", content: { "application/json": { schema: z.object({ path: z.string(), size: z.number(), md5: z.string().optional() }) } } },
      ...fileErrors,
    },
  }),
  createRoute({
    method: "get",
    path: "/workers/leases/{lease_id}/files/{ref}/",
    summary: "List the files of a root (optionally below `prefix`)",
    security: workerSecurity,
    request: { params: FileParams.omit({ path: true }), query: z.object({ prefix: z.string().optional() }) },
    responses: { 200: { description: "The files", content: { "application/json": { schema: z.object({ files: z.array(z.object({ path: z.string(), size: z.number() })) }) } } }, ...fileErrors },
  }),
];

/** The worker API's file calls: the lease's roots only, the same path safety as storage parameters. */
export const workerFileRoutes = newRouter()
  .get("/workers/leases/:lease_id/files/:ref/", async (c) => {
    const { jobId } = await checkedLease(c);
    const prefix = c.req.query("prefix") ?? "";
    if (prefix !== "" && prefixProblem(prefix)) throw new ApiError(400, "validation_failed", `prefix ${prefixProblem(prefix)}`);
    const base = workPrefix(jobId);
    const files: { path: string; size: number }[] = [];
    let cursor: string | undefined;
    do {
      const page = await c.env.MEDIA.list({ prefix: base + prefix, cursor, limit: 1000 });
      for (const object of page.objects) files.push({ path: object.key.slice(base.length), size: object.size });
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor && files.length < 10_000);
    return c.json({ files }, 200);
  })
  .get("/workers/leases/:lease_id/files/:ref/*", async (c) => {
    const { jobId, path } = await checkedLease(c);
    const object = await c.env.MEDIA.get(workKey(jobId, path), { range: c.req.raw.headers });
    if (!object) throw new ApiError(404, "not_found", "No such file.");
    const headers = new Headers({ "content-type": object.httpMetadata?.contentType ?? "application/octet-stream", etag: object.httpEtag, "accept-ranges": "bytes" });
    const range = object.range as { offset?: number; length?: number } | undefined;
    if (range && c.req.header("range")) {
      const offset = range.offset ?? 0;
      const length = range.length ?? object.size - offset;
      headers.set("content-range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
      headers.set("content-length", String(length));
      return new Response(object.body, { status: 206, headers });
    }
    headers.set("content-length", String(object.size));
    return new Response(object.body, { status: 200, headers });
  })
  .put("/workers/leases/:lease_id/files/:ref/*", async (c) => {
    const length = Number(c.req.header("content-length"));
    if (!c.req.header("content-length") || !Number.isInteger(length) || length < 0) throw new ApiError(411, "validation_failed", "Send Content-Length with the file.");
    if (length > MAX_FILE_BYTES) throw new ApiError(413, "payload_too_large", "A file may be at most 5 GiB.");
    const { jobId, path } = await checkedLease(c);
    const stored = await c.env.MEDIA.put(workKey(jobId, path), c.req.raw.body ?? new Uint8Array(0), {
      httpMetadata: { contentType: c.req.header("content-type") ?? "application/octet-stream" },
    });
    const md5 = stored?.checksums.md5 ? [...new Uint8Array(stored.checksums.md5)].map((byte) => byte.toString(16).padStart(2, "0")).join("") : undefined;
    return c.json({ path, size: stored?.size ?? length, ...(md5 ? { md5 } : {}) }, 201);
  });

/** The lease (current, this token's), its root and the checked path below it; the API error otherwise. */
async function checkedLease(c: Context<AppEnv>): Promise<{ jobId: string; path: string }> {
  const leaseId = c.req.param("lease_id") ?? "";
  const ref = c.req.param("ref") ?? "";
  const marker = `/files/${ref}/`;
  const raw = c.req.path.slice(c.req.path.indexOf(marker) + marker.length);
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, "validation_failed", "path is not valid percent-encoding");
  }
  const address = leaseAddress(leaseId);
  if (!address) throw new ApiError(404, "not_found", "No such lease.");
  ok(await callLease(c, leaseId, { type: "look" }));
  if (!ROOTS.has(ref)) throw new ApiError(404, "not_found", `No file root '${ref.slice(0, 64)}' in this lease (roots: output).`);
  if (c.req.method !== "GET" || !c.req.path.endsWith("/")) {
    const problem = pathProblem(path);
    if (problem) throw new ApiError(400, "validation_failed", `path ${problem}`);
  }
  return { jobId: address.jobId, path };
}
