import { expect } from "vitest";
import type { ReceivedRequest } from "./receiver";

/** Shapes of the callback bodies (callbacks.md) and checks shared by the e2e tests. */

// The callback bodies' types are the client's (client/callbacks.ts): what the tests check is what users get.
import type { Callback, JobCallback, TaskCallback } from "../../client/callbacks.ts";
export type { Callback, JobCallback, TaskCallback };


/** ISO-8601 UTC with milliseconds and `Z`, as every time the API shows. */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function isTaskCallback(body: Callback): body is TaskCallback {
  return "task_id" in body;
}

export function isJobCallback(body: Callback): body is JobCallback {
  return "status" in body && !("task_id" in body);
}

/** The bodies of some received requests, in arrival order. */
export function bodiesOf(requests: readonly ReceivedRequest[]): Callback[] {
  return requests.map((request) => request.body as Callback);
}

/** The requests of one job (receivers are shared between tests). */
export function ofJob(requests: readonly ReceivedRequest[], jobId: string): ReceivedRequest[] {
  return requests.filter((request) => (request.body as Partial<Callback> | undefined)?.job_id === jobId);
}

/** A `Receiver.waitFor` predicate: the job callback of `jobId` arrived at `path`. */
export function jobCallbackArrived(jobId: string, path: string): (received: readonly ReceivedRequest[]) => boolean {
  return (received) => received.some((request) => request.path === path && isJobCallbackOf(request, jobId));
}

function isJobCallbackOf(request: ReceivedRequest, jobId: string): boolean {
  const body = request.body as Callback | undefined;
  return body !== undefined && body.job_id === jobId && isJobCallback(body);
}

/**
 * Checks the headers every callback carries (callbacks.md, Headers): JSON content type, the engine's
 * user agent, a `webhook-id` and a `webhook-timestamp` of the attempt in Unix seconds.
 */
export function expectCallbackHeaders(request: ReceivedRequest, from: number, to: number): void {
  expect(request.headers["content-type"]).toBe("application/json");
  expect(request.headers["user-agent"]).toMatch(/^task-engine\/\d+\.\d+\.\d+/);
  expect(request.headers["webhook-id"]).toMatch(/^\S+$/);
  const timestamp = request.headers["webhook-timestamp"];
  expect(timestamp).toMatch(/^\d+$/);
  expect(Number(timestamp)).toBeGreaterThanOrEqual(Math.floor(from / 1000));
  expect(Number(timestamp)).toBeLessThanOrEqual(Math.ceil(to / 1000));
}

/** Every callback time is ISO UTC, none is before `from` or after `to`, and they never go back in sequence order. */
export function expectTimesInOrder(bodies: readonly Callback[], from: string, to: number): void {
  let previous = Date.parse(from);
  for (const body of [...bodies].sort((a, b) => a.sequence - b.sequence)) {
    expect(body.time).toMatch(ISO_UTC);
    const time = Date.parse(body.time);
    expect(time, `time of sequence ${body.sequence}`).toBeGreaterThanOrEqual(previous);
    expect(time).toBeLessThanOrEqual(to);
    previous = time;
  }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
