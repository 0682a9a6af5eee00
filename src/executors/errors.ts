/** Thrown by an executor for an error a retry cannot fix (missing source, bad credentials, bad input). */
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

/** The text a callback and the job log show for an error: its message, never a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === "string") return error;
  return "unknown error";
}
