// A local S3-compatible server for tests: s3rver behind a proxy that checks AWS Signature V4 (s3rver
// itself does not verify V4 signatures). Run with `node --openssl-legacy-provider` (s3rver's continuation
// tokens use DES). Prints one JSON line {"port": N} when ready; stops on SIGTERM or when stdin closes.
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

const ACCESS_KEY = process.env.S3_ACCESS_KEY ?? "test-access-key";
const SECRET_KEY = process.env.S3_SECRET_KEY ?? "test-secret-key";
const BUCKETS = (process.env.S3_BUCKETS ?? "media").split(",");

const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
const s3rver = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: BUCKETS.map((name) => ({ name })) });
const { port: backendPort } = await s3rver.run();

const rfc3986 = (text) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const decode = (text) => decodeURIComponent(text);
const hmac = (key, text) => createHmac("sha256", key).update(text, "utf8").digest();
const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");

/** Why the request's SigV4 signature is wrong, or null when it is right. */
function signatureProblem(req) {
  const auth = req.headers.authorization ?? "";
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!match) return ["AccessDenied", "missing or malformed SigV4 Authorization header"];
  const [, accessKey, day, region, signedHeaders, signature] = match;
  if (accessKey !== ACCESS_KEY) return ["InvalidAccessKeyId", "unknown access key"];
  const amzDate = req.headers["x-amz-date"];
  if (!amzDate || !amzDate.startsWith(day)) return ["AccessDenied", "x-amz-date missing or not the credential's day"];
  if (!signedHeaders.split(";").includes("host")) return ["AccessDenied", "host is not signed"];
  const [rawPath, rawQuery = ""] = req.url.split("?");
  const canonicalUri = rawPath.split("/").map((segment) => rfc3986(decode(segment))).join("/");
  const canonicalQuery = rawQuery
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const [key, value = ""] = pair.split("=");
      return [rfc3986(decode(key)), rfc3986(decode(value))];
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
  const canonicalHeaders = signedHeaders
    .split(";")
    .map((name) => `${name}:${String(req.headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const payloadHash = req.headers["x-amz-content-sha256"];
  if (!payloadHash) return ["AccessDenied", "x-amz-content-sha256 missing"];
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${SECRET_KEY}`, day), region), "s3"), "aws4_request");
  const expected = createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
  return expected === signature ? null : ["SignatureDoesNotMatch", `canonical request:\n${canonicalRequest}`];
}

/** Forwards one request to s3rver and resolves with its answer, buffered. */
function forward(req, headers, body) {
  return new Promise((resolve, reject) => {
    const upstream = request({ host: "127.0.0.1", port: backendPort, method: req.method, path: req.url, headers }, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    upstream.on("error", reject);
    upstream.end(body);
  });
}

const proxy = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const problem = signatureProblem(req);
  if (problem) {
    res.writeHead(403, { "content-type": "application/xml" });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${problem[0]}</Code><Message>${problem[1].replace(/[<&]/g, " ")}</Message></Error>`);
    return;
  }
  // Checked here; s3rver sees an anonymous request (its own V4 check is a no-op anyway).
  const headers = { ...req.headers };
  delete headers.authorization;
  // s3rver decodes x-amz-copy-source with decodeURI, which leaves %2B, %26, %3D… encoded; S3 decodes it fully.
  if (headers["x-amz-copy-source"]) headers["x-amz-copy-source"] = encodeURI(decode(headers["x-amz-copy-source"]));
  try {
    let answer = await forward(req, headers, body);
    // s3rver deletes a batch's keys in parallel and races on removing their shared empty directories,
    // answering 500 for a delete that (mostly) happened; DeleteObjects is idempotent, so ask again.
    for (let tries = 1; answer.status === 500 && req.method === "POST" && /[?&]delete(=|&|$)/.test(req.url) && tries < 10; tries++) {
      answer = await forward(req, headers, body);
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  } catch {
    res.writeHead(502).end();
  }
});
proxy.keepAliveTimeout = 1000;
await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));

async function stop() {
  proxy.closeAllConnections();
  proxy.close();
  await s3rver.close().catch(() => undefined);
  rmSync(directory, { recursive: true, force: true });
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
process.stdout.write(`${JSON.stringify({ port: proxy.address().port })}\n`);
