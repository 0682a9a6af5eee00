import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";

const TYPES: Record<string, string> = { ".m3u8": "application/vnd.apple.mpegurl", ".mpd": "application/dash+xml", ".mp4": "video/mp4", ".m4s": "video/iso.segment", ".html": "text/html; charset=utf-8", ".js": "text/javascript" };

/**
 * Serves a folder over HTTP on a free loopback port (media sources for the workers, as a CDN would);
 * `delayMs` holds every answer back that long (a slow origin, so that work on it takes a while).
 */
export async function serveFolder(folder: string, options: { delayMs?: number } = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createServer(async (request, response) => {
    if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
    const file = join(folder, path);
    if (!file.startsWith(folder + sep)) return void response.writeHead(403).end();
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return void response.writeHead(404).end();
    }
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": size });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
