import canonicalize from "canonicalize";
import { reserveKey, type Reservation } from "../db/idempotency";
import { sha256Hex } from "./api-keys";
import { ApiError, validationError } from "./errors";

/**
 * The `Idempotency-Key` header of POST /job and POST /jobs/{id}/rerun: a key names one request (compared
 * as canonical JSON, RFC 8785, so key order does not matter) and the job it made, for 24 hours. Checks the
 * key's form (400), answers 409 with `conflict` when the key was used with another request, and otherwise reserves it for
 * `jobId` or returns the job an earlier request reserved it for.
 */
export async function reserveIdempotencyKey(
  db: D1Database,
  { client, key, request, jobId, conflict, now = Date.now() }: { client: string; key: string; request: unknown; jobId: string; conflict: string; now?: number },
): Promise<Exclude<Reservation, { kind: "conflict" }>> {
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw validationError([{ path: "Idempotency-Key", message: "must be 1-255 visible ASCII characters" }]);
  }
  const requestHash = await sha256Hex(canonicalize(request) ?? "");
  const reservation = await reserveKey(db, client, key, requestHash, jobId, now);
  if (reservation.kind === "conflict") {
    throw new ApiError(409, "conflict", conflict);
  }
  return reservation;
}
