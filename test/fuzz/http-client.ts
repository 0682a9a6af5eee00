import { Agent, request as httpRequest } from "node:http";
import type { FuzzRequest, FuzzResponse } from "./fuzz-request.ts";

/**
 * Sends requests exactly as generated: node:http rather than fetch, because fetch normalises the URL
 * (`/jobs/../x` becomes `/x`, `%2e%2e` is decoded) and the body; node:http sends the path bytes and the body
 * bytes as they are. It still refuses what no HTTP client can send (CR/LF in a header value), so generated
 * header values stay within visible Latin-1 and tab.
 */
export class HttpClient {
  private readonly agent: Agent;

  constructor(
    private readonly baseUrl: string,
    concurrency: number,
    private readonly timeoutMs = 30_000,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  }

  send(request: Pick<FuzzRequest, "method" | "target" | "headers" | "body">): Promise<FuzzResponse> {
    const url = new URL(this.baseUrl);
    const started = performance.now();
    return new Promise<FuzzResponse>((resolve) => {
      const done = (response: Omit<FuzzResponse, "durationMs">) => resolve({ ...response, durationMs: performance.now() - started });
      const failed = (error: Error) => done({ status: 0, headers: {}, body: Buffer.alloc(0), transportError: `${error.name}: ${error.message}` });
      let outgoing;
      try {
        outgoing = httpRequest({
          host: url.hostname,
          port: url.port,
          method: request.method,
          path: request.target,
          // Without a body, `content-length: 0` as fetch sends it (node:http would otherwise send an empty chunked body).
          headers:
            request.body === undefined && (request.method === "GET" || request.method === "HEAD")
              ? request.headers
              : { ...request.headers, "content-length": String(request.body === undefined ? 0 : Buffer.byteLength(request.body)) },
          agent: this.agent,
          timeout: this.timeoutMs,
        });
      } catch (error) {
        // A header or path node:http will not send: a generator bug, reported as such.
        failed(new Error(`not sendable: ${(error as Error).message}`));
        return;
      }
      outgoing.on("timeout", () => outgoing.destroy(new Error(`no response within ${this.timeoutMs} ms`)));
      outgoing.on("error", failed);
      outgoing.on("response", (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("error", failed);
        incoming.on("end", () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
          }
          done({ status: incoming.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
        });
      });
      outgoing.end(request.body);
    });
  }

  /** Sends and parses the JSON answer (for the fuzzer's own set-up and snapshot requests). */
  async json<T>(method: string, target: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; headers: Record<string, string>; body: T }> {
    const response = await this.send({
      method,
      target,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.transportError) throw new Error(`${method} ${target}: ${response.transportError}`);
    const text = response.body.toString("utf8");
    return { status: response.status, headers: response.headers, body: (text === "" ? null : JSON.parse(text)) as T };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `work` over `items` with at most `limit` at once; results in input order. */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(workers);
  return results;
}
