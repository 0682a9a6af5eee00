import { Webhook } from "standardwebhooks";
import { Api, type Job } from "./generated.ts";

/**
 * `task-engine/client`: a typed client for the engine's HTTP API, the operator API and the worker API. Its
 * request and response types are generated from /openapi.json (client/generated.ts, by swagger-typescript-api),
 * which the engine generates from the zod schemas that validate: a field renamed on the server is renamed
 * here when the file is generated again (test/unit/client-generated.test.ts fails until it is). On top:
 * one typed error, cursor iteration over `GET /jobs`, following a job until it ends, and `verifyCallback`.
 */

export * from "./generated.ts";
export type { TaskCallback, JobCallback, Callback } from "./callbacks.ts";
export { isTaskCallback } from "./callbacks.ts";
import type { Callback } from "./callbacks.ts";

export interface ClientOptions {
  /** The engine's origin, e.g. `http://localhost:8787`. */
  baseUrl: string;
  /** The client's name and API key (`client` and `api-key` headers): the client API. */
  client?: string;
  apiKey?: string;
  /** The operator API's bearer token (`/admin/*`). */
  adminToken?: string;
  /** A worker pool token (`wkr_…`, `/workers/*`). */
  workerToken?: string;
  fetch?: typeof fetch;
}

/** Any answer of the engine that is not a 2xx: its error body (`error`, `code`, `details`) and request id. */
export class TaskEngineError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[],
    readonly requestId: string | null,
  ) {
    super(message);
    this.name = "TaskEngineError";
  }

  static async from(response: Response): Promise<TaskEngineError> {
    const text = await response.text();
    let body: { error?: string; code?: string; details?: { path: string; message: string }[] } = {};
    try {
      body = (JSON.parse(text) as typeof body | null) ?? {};
    } catch {
      // Not the engine's error shape (a proxy's page, say): the status and the text say what happened.
    }
    return new TaskEngineError(response.status, body.code ?? `http_${response.status}`, body.error ?? (text.slice(0, 200) || response.statusText), body.details ?? [], response.headers.get("x-request-id"));
  }
}

/** The credentials a path needs: the operator's or a worker's bearer token, else the client's headers. */
function credentials(options: ClientOptions, url: string): Record<string, string> {
  // The path below the engine's base (an engine may sit under a prefix: https://host/engine).
  const base = new URL(options.baseUrl).pathname.replace(/\/$/, "");
  const full = new URL(url, options.baseUrl).pathname;
  const path = full.startsWith(`${base}/`) ? full.slice(base.length) : full;
  if (path.startsWith("/admin/")) return options.adminToken ? { authorization: `Bearer ${options.adminToken}` } : {};
  if (path.startsWith("/workers/")) return options.workerToken ? { authorization: `Bearer ${options.workerToken}` } : {};
  return options.client && options.apiKey ? { client: options.client, "api-key": options.apiKey } : {};
}

export type TaskEngineClient = Api<unknown> & {
  /** Every job the filters select, newest first, following the `Link: rel="next"` cursor page by page. */
  iterateJobs(query?: Parameters<Api<unknown>["jobs"]["getJobs"]>[0]): AsyncGenerator<Job>;
  /** The job every `intervalMs` (1 s) until it has ended: `completed` (failed or not) or `broken`. */
  followJob(id: string, intervalMs?: number): AsyncGenerator<Job>;
};

export function createClient(options: ClientOptions): TaskEngineClient {
  const baseFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const request = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(credentials(options, url))) if (!headers.has(name)) headers.set(name, value);
    const response = await baseFetch(input, { ...init, headers });
    if (!response.ok) throw await TaskEngineError.from(response);
    return response;
  };
  const api = new Api({ baseUrl: options.baseUrl.replace(/\/$/, ""), customFetch: request as typeof fetch }) as TaskEngineClient;
  const basePath = new URL(api.baseUrl).pathname.replace(/\/$/, "");
  api.iterateJobs = async function* (query = {}) {
    const search = new URLSearchParams(Object.entries(query).filter(([, value]) => value !== undefined).map(([name, value]) => [name, String(value)]));
    let next: string | null = `${api.baseUrl}/jobs${search.size > 0 ? `?${search}` : ""}`;
    while (next) {
      const response = await request(next);
      for (const job of (await response.json()) as Job[]) yield job;
      // The Link is the engine's own path (`/jobs?…`): behind a prefix (https://host/engine) it is put back.
      const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") ?? "");
      next = link ? `${api.baseUrl}${link[1]!.startsWith(`${basePath}/`) ? link[1]!.slice(basePath.length) : link[1]!}` : null;
    }
  };
  api.followJob = async function* (id, intervalMs = 1000) {
    for (;;) {
      const job = await api.jobs.getJobsById(id);
      yield job;
      if (job.queue_state === "completed" || job.queue_state === "broken") return;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  return api;
}

/**
 * Checks a callback's Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`;
 * five minutes' tolerance) against the client's signing secrets, the newest first (during a rotation the
 * engine signs with both), and returns the body as a typed callback: a task event (`task_id`) or the job's end
 * (`status`). Throws when no secret verifies it.
 */
export function verifyCallback(rawBody: string, headers: Headers | Record<string, string>, secrets: string[]): Callback {
  const plain = headers instanceof Headers ? Object.fromEntries(headers.entries()) : Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  let last: unknown = new Error("no signing secret given");
  for (const secret of secrets) {
    try {
      return new Webhook(secret).verify(rawBody, plain) as Callback;
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`the callback's signature matches none of the ${secrets.length} secrets (${(last as Error).message})`);
}
