import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP server that answers 200 to every request: the callback endpoint of fuzzed jobs (so their
 * deliveries end at once) and their semaphore URL (so a semaphore opens at the first poll).
 */
export class Sink {
  received = 0;
  /** The bodies received (callbacks), to check that none carries a secret. */
  readonly bodies: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Sink> {
    let sink: Sink | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (sink) {
          sink.received++;
          if (chunks.length > 0) sink.bodies.push(Buffer.concat(chunks).toString("utf8"));
        }
        response.writeHead(200, { "content-type": "text/plain" }).end("ok");
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    sink = new Sink(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return sink;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
