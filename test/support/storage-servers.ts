import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Local implementations of the storage APIs the drivers speak, started by the test setup: s3rver (behind a
 * SigV4-checking proxy) for S3, azurite for Azure Blob. Each runs as a child process on a free loopback
 * port and is stopped by `stop()` (or when this process exits: its stdin closes).
 */

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

export const S3_CREDENTIALS = { accessKeyId: "test-access-key", secretAccessKey: "test-secret-key", region: "eu-west-1" };
/** Buckets the local S3 server has from the start. */
export const S3_BUCKETS = ["media", "e2e-media", "e2e-drm"];

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface LocalServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
    });
}

/** Waits for a line of the child's stdout that `match` accepts. */
function waitForLine<T>(child: ChildProcess, what: string, match: (line: string) => T | null, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buffer = "";
    let stderr = "";
    const timer = setTimeout(() => fail(new Error(`${what} did not start within ${timeoutMs} ms: ${stderr.slice(-2000)}`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    };
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("exit", (code) => fail(new Error(`${what} exited with ${code}: ${stderr.slice(-2000)}`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let index = buffer.indexOf("\n"); index >= 0; index = buffer.indexOf("\n")) {
        const line = buffer.slice(0, index);
        buffer = buffer.slice(index + 1);
        const found = match(line);
        if (found !== null) {
          clearTimeout(timer);
          child.removeAllListeners("exit");
          return resolve(found);
        }
      }
    });
  });
}

/** s3rver with buckets S3_BUCKETS, accepting only requests signed with S3_CREDENTIALS. */
export async function startS3Server(): Promise<LocalServer> {
  const child = spawn(process.execPath, ["--openssl-legacy-provider", join(here, "s3-server.mjs")], {
    env: { ...process.env, S3_ACCESS_KEY: S3_CREDENTIALS.accessKeyId, S3_SECRET_KEY: S3_CREDENTIALS.secretAccessKey, S3_BUCKETS: S3_BUCKETS.join(",") },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const port = await waitForLine(child, "s3rver", (line) => {
    try {
      return (JSON.parse(line) as { port: number }).port;
    } catch {
      return null;
    }
  });
  return { url: `http://127.0.0.1:${port}`, stop: stopper(child) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** azurite's Blob service, in memory, telemetry off. */
export async function startAzurite(): Promise<LocalServer> {
  const main = join(dirname(require.resolve("azurite/package.json")), "dist", "src", "blob", "main.js");
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [main, "--blobHost", "127.0.0.1", "--blobPort", String(port), "--inMemoryPersistence", "--disableTelemetry", "--silent"],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    try {
      await waitForLine(child, "azurite", (line) => (line.includes("successfully listens") ? true : null));
      return { url: `http://127.0.0.1:${port}`, stop: stopper(child) };
    } catch (error) {
      // Another process may have taken the port between freePort() and azurite's listen.
      if (tries >= 3) throw error;
    }
  }
}

/** An account SAS for azurite's development account: blob service, all resource types, rwdlac. */
export function azuriteSas(expiry = "2099-01-01T00:00:00Z"): string {
  const fields = { sv: "2021-08-06", ss: "b", srt: "sco", sp: "rwdlac", se: expiry, spr: "https,http" };
  const toSign = [AZURITE_ACCOUNT, fields.sp, fields.ss, fields.srt, "", fields.se, "", fields.spr, fields.sv, "", ""].join("\n");
  const sig = createHmac("sha256", Buffer.from(AZURITE_KEY, "base64")).update(toSign, "utf8").digest("base64");
  return new URLSearchParams({ ...fields, sig }).toString();
}

/** Creates a container in azurite (ignores "already exists") and returns its URL. */
export async function createContainer(azuriteUrl: string, name: string): Promise<string> {
  const url = `${azuriteUrl}/${AZURITE_ACCOUNT}/${name}`;
  const response = await fetch(`${url}?restype=container&${azuriteSas()}`, { method: "PUT", headers: { "x-ms-version": "2021-08-06" } });
  if (response.status !== 201 && response.status !== 409) throw new Error(`create container ${name}: ${response.status} ${await response.text()}`);
  return url;
}
