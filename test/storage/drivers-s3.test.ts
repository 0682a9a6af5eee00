import { request } from "node:http";
import { inject } from "vitest";
import { S3Driver, type S3Options } from "../../src/storage/s3";
import { S3_CREDENTIALS } from "../support/storage-servers";
import { driverContract } from "./contract";

const s3Url = inject("s3Url");

function s3(overrides: Partial<S3Options> = {}): S3Driver {
  return new S3Driver({
    endpoint: s3Url,
    bucket: "media",
    region: S3_CREDENTIALS.region,
    accessKeyId: S3_CREDENTIALS.accessKeyId,
    secretAccessKey: S3_CREDENTIALS.secretAccessKey,
    pathStyle: true,
    fetch,
    ...overrides,
  });
}

/**
 * fetch for virtual-hosted URLs (`https://media.s3.eu-west-1.amazonaws.com/key`): connects to the local
 * server over plain HTTP and sends the request with its own Host header, as a resolver pointing there would.
 */
const local = new URL(s3Url);
const vhostFetch: typeof fetch = async (input, init) => {
  const original = new Request(input, init);
  const url = new URL(original.url);
  const body = original.body ? Buffer.from(await original.arrayBuffer()) : undefined;
  const headers = Object.fromEntries(original.headers);
  return new Promise<Response>((resolve, reject) => {
    const req = request({ host: local.hostname, port: local.port, method: original.method, path: url.pathname + url.search, headers: { ...headers, host: url.host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const status = res.statusCode ?? 502;
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === "string") responseHeaders.set(name, value);
        const nullBody = original.method === "HEAD" || status === 204 || status === 304;
        resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
      });
    });
    req.on("error", reject);
    req.end(body);
  });
};

driverContract("S3 (path-style, s3rver)", { driver: () => s3(), badCredentials: () => s3({ secretAccessKey: "wrong-secret" }) });

driverContract("S3 (virtual-hosted, s3rver)", {
  driver: () => s3({ endpoint: "https://s3.eu-west-1.amazonaws.com", pathStyle: false, fetch: vhostFetch }),
  badCredentials: () => s3({ endpoint: "https://s3.eu-west-1.amazonaws.com", pathStyle: false, fetch: vhostFetch, accessKeyId: "unknown" }),
});
