/**
 * The drill's HTTP client of the engine. The engine is killed and restarted under it, so a request that
 * meets a closed port, a reset connection or a 5xx is tried again until `deadline`: only requests that are
 * safe to repeat (reads, PATCH, POST /job with its Idempotency-Key, and reruns: a job has one replacement) use `retrying`.
 */

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

export interface ApiCounters {
  /** Requests that met the engine down (connection refused or reset) and were tried again. */
  networkErrors: number;
  /** 5xx answers that were tried again. */
  serverErrors: number;
}

const ATTEMPT_TIMEOUT_MS = 15_000;

export class EngineApi {
  readonly counters: ApiCounters = { networkErrors: 0, serverErrors: 0 };
  private readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  /** One request; throws on a network error. The body is parsed as JSON (null when empty). */
  async once<T>(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<ApiAnswer<T>> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed as T };
  }

  /** A request that is safe to repeat, repeated through restarts (network errors, 5xx, 429) until `deadline`. */
  async retrying<T>(method: string, path: string, headers: Record<string, string>, body?: unknown, deadline = Date.now() + 120_000): Promise<ApiAnswer<T>> {
    for (let delay = 100; ; delay = Math.min(1_000, delay * 2)) {
      let why: string;
      try {
        const answer = await this.once<T>(method, path, headers, body);
        if (answer.status < 500 && answer.status !== 429) return answer;
        if (answer.status >= 500) this.counters.serverErrors++;
        why = `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
      } catch (error) {
        this.counters.networkErrors++;
        why = String((error as { cause?: unknown }).cause ?? error);
      }
      if (Date.now() > deadline) throw new Error(`${method} ${path} kept failing until the deadline: ${why}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
