import type { AttemptRecord } from "../domain/outbox";
import { errorMessage } from "../domain/errors";
import type { Deliverable } from "./messages";

export interface DeliveryDeps {
  fetch: typeof fetch;
  version: string;
  timeoutMs: number;
  /** Extra headers for this attempt (signature, configured headers). */
  headersFor?: (delivery: Deliverable, timestamp: number) => Promise<Record<string, string>>;
}

/** POSTs one callback attempt and describes what happened; never throws. */
export async function deliverCallback(delivery: Deliverable, deps: DeliveryDeps): Promise<AttemptRecord> {
  const startedAt = Date.now();
  const timestamp = Math.floor(startedAt / 1000);
  try {
    const extra = deps.headersFor ? await deps.headersFor(delivery, timestamp) : {};
    const response = await deps.fetch(delivery.endpoint, {
      method: "POST",
      headers: {
        ...extra,
        "content-type": "application/json",
        "user-agent": `task-engine/${deps.version}`,
        "webhook-id": delivery.id,
        "webhook-timestamp": String(timestamp),
        // A template need not name `truncated`: the header tells every receiver that the body was cut down.
        ...(delivery.truncated ? { "task-engine-truncated": "true" } : {}),
      },
      body: delivery.body,
      redirect: "manual",
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 300;
    return {
      startedAt,
      durationMs: Date.now() - startedAt,
      status: response.status,
      retryAfterMs: retryAfterMs(response.headers.get("retry-after"), Date.now()),
      error: ok ? null : `HTTP ${response.status}`,
    };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return {
      startedAt,
      durationMs: Date.now() - startedAt,
      status: null,
      retryAfterMs: null,
      error: timedOut ? `timed out after ${Math.round(deps.timeoutMs / 1000)} s` : `network error: ${errorMessage(error)}`,
    };
  }
}

/** A Retry-After header (seconds or an HTTP date) in ms from now, or null. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
