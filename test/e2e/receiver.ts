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
  /** The status this receiver answered (or was about to answer, when the sender gave up first). */
  status: number;
  /** The sender closed the connection before the answer was sent (e.g. its timeout struck during `delayMs`). */
  aborted?: boolean;
}

/** A scripted answer: a status, extra response headers (e.g. `Retry-After`) and a delay before answering. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  delayMs?: number;
}

/** Decides the answer to a request (a status or a `Reply`); the default answers 200 to everything. */
export type Responder = (request: Omit<ReceivedRequest, "status" | "aborted">, index: number) => number | Reply;

type Answer = (reply: Reply, onAbort: () => void) => void;

interface Waiter {
  predicate: (received: readonly ReceivedRequest[]) => boolean;
  resolve: () => void;
}

/**
 * A real HTTP callback receiver on 127.0.0.1 (ephemeral port). It records every request and answers
 * what its responder (or a per-path script) chooses. It can go down (connections refused) and come
 * back up on the same port.
 */
export class Receiver {
  readonly received: ReceivedRequest[] = [];
  private responder: Responder = () => 200;
  private readonly scripts = new Map<string, (number | Reply)[]>();
  private readonly waiters = new Set<Waiter>();
  private listening = true;

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
        receiver.record(req.url ?? "/", req.method ?? "GET", req.headers, Buffer.concat(chunks).toString("utf8"), (reply, onAbort) => {
          const send = () => {
            if (res.destroyed) return;
            res
              .writeHead(reply.status, { "content-type": "text/plain", ...reply.headers })
              .end(reply.status >= 200 && reply.status < 300 ? "ok" : "no");
          };
          res.on("close", () => {
            if (!res.writableEnded) onAbort();
          });
          if (reply.delayMs) setTimeout(send, reply.delayMs);
          else send();
        });
      });
    });
    // Keep-alive sockets would hold `close()` open; callbacks are short POSTs.
    server.keepAliveTimeout = 1000;
    await listen(server, 0);
    receiver = new Receiver(server, (server.address() as AddressInfo).port);
    return receiver;
  }

  /** True unless `down()` closed the port. */
  get isUp(): boolean {
    return this.listening;
  }

  /** Closes the port (and every open connection): senders get "connection refused" until `up()`. */
  async down(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** Listens again on the same port after `down()`. */
  async up(): Promise<void> {
    if (this.listening) return;
    await listen(this.server, this.port);
    this.listening = true;
  }

  /**
   * The answers to the next requests at `path`, in order (a status or a `Reply` each); once they are
   * used up, the responder answers again.
   */
  script(path: string, replies: (number | Reply)[]): void {
    this.scripts.set(path, [...replies]);
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
    this.scripts.clear();
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
    await this.down();
  }

  private record(path: string, method: string, headers: IncomingHttpHeaders, raw: string, answer: Answer): void {
    if (method !== "POST") {
      answer({ status: 405 }, () => {});
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw) as unknown;
    } catch {
      body = undefined;
    }
    const request = { path, headers, raw, body, receivedAt: Date.now() };
    const scripted = this.scripts.get(path)?.shift();
    const chosen = scripted ?? this.responder(request, this.received.length);
    const reply = typeof chosen === "number" ? { status: chosen } : chosen;
    const received: ReceivedRequest = { ...request, status: reply.status };
    this.received.push(received);
    answer(reply, () => {
      received.aborted = true;
    });
    for (const waiter of [...this.waiters]) if (waiter.predicate(this.received)) waiter.resolve();
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once("error", failed);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", failed);
      resolve();
    });
  });
}

function summary(body: unknown): string {
  if (typeof body !== "object" || body === null) return String(body);
  const record = body as Record<string, unknown>;
  return [record.sequence, record.task_name ?? "job", record.event ?? record.status, record.attempt].filter((part) => part !== undefined).join(" ");
}
