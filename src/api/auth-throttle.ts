import { ApiError } from "./errors";

/**
 * Throttles failed authentication (P5 item 8). Failures are counted per source address (`CF-Connecting-IP`)
 * and per client name by Workers Rate Limiting bindings (a window of `WINDOW_SECONDS`):
 *
 * - an address past its budget gets `429` for every request until the window ends, answered from this
 *   isolate's memory without a D1 read (a valid key from that address waits too: it shares the address);
 * - a client name past its budget gets `429` instead of `401` for wrong keys only: its valid keys still pass,
 *   so a stranger guessing keys elsewhere cannot lock a client out of its own.
 *
 * Successful requests cost nothing here: only a failure is counted.
 */

/** The window of both limits, as configured in wrangler.toml (`[[ratelimits]]` `simple.period`). */
export const WINDOW_SECONDS = 60;
/** Addresses remembered as blocked per isolate; the oldest is forgotten first (a flood of addresses stays bounded). */
const MAX_REMEMBERED = 10_000;

/** The bindings the throttle counts with. */
export interface AuthFailureLimits {
  byAddress: RateLimit;
  byClient: RateLimit;
}

/** The caller's address as Cloudflare reports it (absent only off Cloudflare, e.g. in tests), bounded in length. */
export function sourceAddress(header: string | undefined): string | null {
  const address = header?.trim();
  return address ? address.slice(0, 64) : null;
}

/** Addresses over budget in this isolate → when their window ends (ms). */
const blockedUntil = new Map<string, number>();

export function tooManyFailures(retryAfterSeconds: number): ApiError {
  const seconds = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  return new ApiError(429, "rate_limited", `Too many failed authentications; try again in ${seconds} s.`, undefined, { "Retry-After": seconds });
}

/** Throws 429 when `address` used up its failures in this window (checked before any credential is read). */
export function refuseBlockedAddress(address: string | null, now = Date.now()): void {
  if (address === null) return;
  const until = blockedUntil.get(address);
  if (until === undefined) return;
  if (until <= now) {
    blockedUntil.delete(address);
    return;
  }
  throw tooManyFailures((until - now) / 1000);
}

/**
 * Counts one failed authentication and returns the error to answer: `401`, or `429` when the address or the
 * client name is past its budget. A request without a source address (only possible off Cloudflare, e.g.
 * in tests) is counted by client name alone.
 */
export async function failedAuthentication(limits: AuthFailureLimits, address: string | null, client: string | null, unauthorised: ApiError, now = Date.now()): Promise<ApiError> {
  const [addressOk, clientOk] = await Promise.all([
    address === null ? true : limits.byAddress.limit({ key: address }).then((outcome) => outcome.success),
    client === null ? true : limits.byClient.limit({ key: client }).then((outcome) => outcome.success),
  ]);
  if (!addressOk && address !== null) {
    if (blockedUntil.size >= MAX_REMEMBERED) blockedUntil.delete(blockedUntil.keys().next().value!);
    blockedUntil.set(address, now + WINDOW_SECONDS * 1000);
  }
  return addressOk && clientOk ? unauthorised : tooManyFailures(WINDOW_SECONDS);
}
