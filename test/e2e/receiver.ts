import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One POST the receiver got. */
export interface ReceivedRequest {
  /** Path of the request (e.g. `/hook-a`): lets one receiver stand for several endpoints. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body text, exactly as sent. */
  raw: string;
  /** The parsed JSON body (`undefined` when the body is not JSON). */
  body: unknown;
  /** `Date.now()` when the request was complete. */
  receivedAt: number;
  /** The status this receiver answered. */
  status: number;
}

/** Decides the status to answer a request with; the default answers 200 to everything. */
export type Responder = (request: Omit<ReceivedRequest, "status">, index: number) => number;

interface Waiter {
  predicate: (received: readonly ReceivedRequest[]) => boolean;
  resolve: () => void;
}

/**
 * A real HTTP callback receiver on 127.0.0.1 (ephemeral port). It records every request and answers
 * the status its responder chooses.
 */
export class Receiver {
  readonly received: ReceivedRequest[] = [];
  private responder: Responder = () => 200;
  private readonly waiters = new Set<Waiter>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<Receiver> {
    let receiver: Receiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        if (!receiver) {
          res.writeHead(503).end();
          return;
        }
        receiver.record(req.url ?? "/", req.method ?? "GET", req.headers, Buffer.concat(chunks).toString("utf8"), (status) => {
          res.writeHead(status, { "content-type": "text/plain" }).end(status >= 200 && status < 300 ? "ok" : "no");
        });
      });
    });
    // Keep-alive sockets would hold `close()` open; callbacks are short POSTs.
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    receiver = new Receiver(server, (server.address() as AddressInfo).port);
    return receiver;
  }

  /** The URL of a path on this receiver, for `rest_endpoints`. */
  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Sets the status answered from now on (per request). */
  respondWith(responder: Responder): void {
    this.responder = responder;
  }

  /** Requests whose path is `path`. */
  at(path: string): ReceivedRequest[] {
    return this.received.filter((request) => request.path === path);
  }

  /** Forgets what was received (between tests sharing one receiver). */
  reset(): void {
    this.received.length = 0;
    this.responder = () => 200;
  }

  /** Resolves once `predicate` holds over everything received so far; rejects after `timeoutMs`. */
  waitFor(predicate: (received: readonly ReceivedRequest[]) => boolean, timeoutMs = 30_000, what = "callbacks"): Promise<void> {
    if (predicate(this.received)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.received.map((request) => `${request.path} ${summary(request.body)}`).join("\n  ");
        reject(new Error(`receiver: ${what} not seen within ${timeoutMs} ms; received ${this.received.length}:\n  ${seen}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    for (const waiter of this.waiters) this.waiters.delete(waiter);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(path: string, method: string, headers: IncomingHttpHeaders, raw: string, answer: (status: number) => void): void {
    if (method !== "POST") {
      answer(405);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw) as unknown;
    } catch {
      body = undefined;
    }
    const request = { path, headers, raw, body, receivedAt: Date.now() };
    const status = this.responder(request, this.received.length);
    this.received.push({ ...request, status });
    answer(status);
    for (const waiter of [...this.waiters]) if (waiter.predicate(this.received)) waiter.resolve();
  }
}

function summary(body: unknown): string {
  if (typeof body !== "object" || body === null) return String(body);
  const record = body as Record<string, unknown>;
  return [record.sequence, record.task_name ?? "job", record.event ?? record.status, record.attempt].filter((part) => part !== undefined).join(" ");
}
