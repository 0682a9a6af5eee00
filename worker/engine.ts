import { createReadStream, createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { stat } from "node:fs/promises";

/** The engine's worker API (workers.md) as this worker calls it. */

export interface Lease {
  lease_id: string;
  job_id: string;
  client: string;
  workflow: string;
  task: string;
  task_id: string;
  attempt: number;
  executor: string;
  input: unknown;
  deadline: string;
  heartbeat_s: number;
  timeout_s: number;
  files: Record<string, { read: boolean; write: boolean }>;
}

/** The engine answered something other than what the call expects. */
export class EngineError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

export class EngineClient {
  private readonly base: string;
  private readonly token: string;
  constructor(base: string, token: string) {
    this.base = base;
    this.token = token;
  }

  /** Long-polls for up to `max` leases; [] when nothing came within `waitS`. */
  async lease(body: { pool: string; worker_id: string; label: string; max: number; wait_s: number; holding: number }, signal: AbortSignal): Promise<Lease[]> {
    const response = await this.post("/workers/lease", body, signal);
    if (response.status === 204) return [];
    return ((await this.json(response)) as { leases: Lease[] }).leases;
  }

  async heartbeat(leaseId: string, body: { progress?: number; phase?: string }): Promise<{ deadline: string | null; cancel: boolean }> {
    return (await this.json(await this.post(`/workers/leases/${leaseId}/heartbeat`, body))) as { deadline: string | null; cancel: boolean };
  }

  async complete(leaseId: string, output: unknown): Promise<void> {
    await this.json(await this.post(`/workers/leases/${leaseId}/complete`, { output }));
  }

  async fail(leaseId: string, error: string, retryable: boolean): Promise<void> {
    await this.json(await this.post(`/workers/leases/${leaseId}/fail`, { error, retryable }));
  }

  /** Streams a local file to the lease's `output` root. */
  async upload(leaseId: string, path: string, local: string, contentType: string): Promise<{ size: number }> {
    const { size } = await stat(local);
    const response = await fetch(`${this.base}/workers/leases/${leaseId}/files/output/${path.split("/").map(encodeURIComponent).join("/")}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${this.token}`, "content-type": contentType, "content-length": String(size) },
      body: createReadStream(local) as unknown as ReadableStream,
      duplex: "half",
    } as RequestInit);
    await this.json(response);
    return { size };
  }

  /** Streams a file of one of the lease's roots (`source`) to a local path. */
  async download(leaseId: string, root: string, path: string, local: string, signal: AbortSignal): Promise<void> {
    const response = await fetch(`${this.base}/workers/leases/${leaseId}/files/${root}/${path.split("/").map(encodeURIComponent).join("/")}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal,
    });
    if (!response.ok || !response.body) await this.json(response);
    await pipeline(Readable.fromWeb(response.body as unknown as import("node:stream/web").ReadableStream), createWriteStream(local));
  }

  private post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  }

  private async json(response: Response): Promise<unknown> {
    const text = await response.text();
    if (!response.ok) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {
        // not JSON: the text itself
      }
      throw new EngineError(`${response.status}: ${message}`, response.status);
    }
    return text ? JSON.parse(text) : null;
  }
}
