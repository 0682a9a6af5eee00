import { env, exports } from "cloudflare:workers";
import { sha256Hex } from "../../src/api/api-keys";

/** Creates a client with one API key and returns the headers that authenticate as it. */
export async function createClient(name: string, key = `key-${name}-${crypto.randomUUID()}`): Promise<Record<string, string>> {
  const now = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare(`INSERT OR IGNORE INTO clients (name, config, created_at) VALUES (?, '{}', ?)`).bind(name, now),
    env.DB.prepare(`INSERT INTO api_keys (id, client, key_hash, created_at) VALUES (?, ?, ?, ?)`).bind(
      crypto.randomUUID(),
      name,
      await sha256Hex(key),
      now,
    ),
  ]);
  return { client: name, "api-key": key };
}

/** Sends a request to the worker under test. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`http://engine.test${path}`, init));
}

export function postJson(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return call(path, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
}

/** Polls `read` until `done` holds or the time runs out. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
