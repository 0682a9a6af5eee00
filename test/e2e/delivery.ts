import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import type { Callback } from "./callbacks";
import type { CallbackAttempt, CallbackLogEntry } from "./harness";
import type { ReceivedRequest } from "./receiver";

/** Helpers shared by the callback delivery e2e tests (callbacks.md, Delivery). */

/** The events of a `tasks`-task selftest chain, in sequence order (as `GET /jobs/{id}/callbacks` names them). */
export function chainEvents(tasks: number): string[] {
  return [...Array.from({ length: tasks }, () => ["task.start", "task.complete"]).flat(), "job.end"];
}

/** A `callback_retry_schedule` setting: `count` retries, `seconds` apart. */
export function retrySchedule(seconds: number, count: number): string {
  return Array.from({ length: count }, () => String(seconds)).join(",");
}

/** A URL on 127.0.0.1 whose port nothing listens on (connection refused). */
export async function deadUrl(path = "/dead"): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
}

/** The delivery log entries of one endpoint, in sequence order. */
export function ofEndpoint(log: readonly CallbackLogEntry[], endpoint: string): CallbackLogEntry[] {
  return log.filter((entry) => entry.endpoint === endpoint).sort((a, b) => a.sequence - b.sequence);
}

/** The `sequence` of each request, in arrival order. */
export function arrivals(requests: readonly ReceivedRequest[]): number[] {
  return requests.map((request) => (request.body as Callback).sequence);
}

/**
 * A receiver's view of one job after dedupe on `webhook-id`: every repeat is an exact copy (same id, same
 * raw body) and one id is one sequence. Returns the first arrival of each callback, in arrival order.
 */
export function firstArrivals(requests: readonly ReceivedRequest[]): ReceivedRequest[] {
  const byId = new Map<string, ReceivedRequest>();
  for (const request of requests) {
    const id = String(request.headers["webhook-id"]);
    const first = byId.get(id);
    if (first) expect(request.raw, `repeat of ${id}`).toBe(first.raw);
    else byId.set(id, request);
  }
  return [...byId.values()];
}

/** Every callback of the log is in an end state (delivered or failed). */
export function settled(log: readonly CallbackLogEntry[]): boolean {
  return log.length > 0 && log.every((entry) => entry.state === "delivered" || entry.state === "failed");
}

/** Every callback of the log was delivered. */
export function allDelivered(log: readonly CallbackLogEntry[], count: number): boolean {
  return log.length === count && log.every((entry) => entry.state === "delivered");
}

/** The gap between two attempts' start times, in ms. */
export function gapMs(from: CallbackAttempt, to: CallbackAttempt): number {
  return Date.parse(to.attempted_at) - Date.parse(from.attempted_at);
}

/**
 * A delivered callback whose attempts are numbered from 1, whose last attempt (and only that one) got a
 * 2xx, and whose earlier attempts match `failed` (e.g. network errors).
 */
export function expectDeliveredOnLastAttempt(entry: CallbackLogEntry, failed: Partial<CallbackAttempt> = {}): void {
  const label = `sequence ${entry.sequence} at ${entry.endpoint}`;
  expect(entry.state, label).toBe("delivered");
  expect(entry.error, label).toBeNull();
  expect(entry.next_attempt_at, label).toBeNull();
  expect(entry.attempts.map((attempt) => attempt.attempt), label).toStrictEqual(entry.attempts.map((_, i) => i + 1));
  const last = entry.attempts.at(-1)!;
  expect(last, label).toMatchObject({ status: 200, error: null });
  expect(entry.attempts.filter((attempt) => attempt.status !== null && attempt.status >= 200 && attempt.status < 300), label).toHaveLength(1);
  for (const attempt of entry.attempts.slice(0, -1)) expect(attempt, `${label}, attempt ${attempt.attempt}`).toMatchObject(failed);
  for (const attempt of entry.attempts) {
    expect(attempt.attempted_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(attempt.duration_ms).toBeGreaterThanOrEqual(0);
  }
}

/** A network error attempt (connection refused): no status, an error that says so. */
export const NETWORK_ERROR: Partial<CallbackAttempt> = { status: null, error: expect.stringMatching(/^network error: /) as unknown as string };
