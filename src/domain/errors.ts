/**
 * The error vocabulary shared by executors, storage drivers and the consumers that run them: whether a
 * failure may succeed on another attempt, and the text a callback or log line shows for it.
 */

/** Thrown for an error a retry cannot fix (missing source, bad credentials, bad input, an unsafe key). */
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
}

/** Whether an executor error may succeed on another attempt. Looks through the `cause` chain. */
export function isRetryable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 10; depth++) {
    if (current instanceof NonRetryableError) return false;
    current = current.cause;
  }
  return true;
}

/** The longest error text kept: an error quoting a whole response or input must not inflate callbacks and logs. */
export const MAX_ERROR_CHARS = 2000;

/** The text a callback and the job log show for an error: its message (clipped), never a stack. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : typeof error === "string" ? error : "unknown error";
  return text.length <= MAX_ERROR_CHARS ? text : `${text.slice(0, MAX_ERROR_CHARS).toWellFormed()}… (clipped)`;
}
