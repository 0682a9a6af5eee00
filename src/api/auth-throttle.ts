import { parseIPv6 } from "../domain/endpoints";
import { ApiError } from "./errors";

/**
 * Throttles failed authentication (P5 item 8). Failures are counted per source address (`CF-Connecting-IP`;
 * an IPv6 address by its /64, the block a single subscriber is given) and per client name, by Workers Rate
 * Limiting bindings over a window of `WINDOW_SECONDS` (counted per Cloudflare location, as that API does):
 *
 * - an address past its budget is blocked until the window ends: its requests are answered `429` from this
 *   isolate's memory, before their body is read and without a D1 read. Credentials this isolate verified in
 *   the last `VERIFIED_MS` still pass, so a client that shares the address (a NAT, a cloud egress) with
 *   whoever failed keeps working;
 * - a client name past its budget gets `429` instead of `401` for wrong keys only: its valid keys still pass,
 *   so a stranger guessing keys cannot lock a client out of its own.
 *
 * Successful requests are not counted.
 */

/** The window of both limits, as configured in wrangler.toml (`[[ratelimits]]` `simple.period`). */
export const WINDOW_SECONDS = 60;
/** How long credentials verified by this isolate still pass a blocked address: the length of a window. */
export const VERIFIED_MS = WINDOW_SECONDS * 1000;
/** Entries kept per isolate in each map below; the oldest is forgotten first, so a flood stays bounded. */
const MAX_REMEMBERED = 10_000;

/** The bindings the throttle counts with. */
export interface AuthFailureLimits {
  byAddress: RateLimit;
  byClient: RateLimit;
}

/**
 * The caller's address as the throttle counts it: Cloudflare's `CF-Connecting-IP` (absent only off
 * Cloudflare, e.g. in tests), an IPv6 address cut to its /64.
 */
export function sourceAddress(header: string | undefined): string | null {
  const address = header?.trim();
  if (!address) return null;
  const groups = address.includes(":") ? parseIPv6(address.toLowerCase()) : null;
  if (groups) return `${groups.slice(0, 4).map((group) => group.toString(16)).join(":")}::/64`;
  return address.slice(0, 64);
}

/** Addresses over budget in this isolate → when their window ends (ms). */
const blockedUntil = new Map<string, number>();
/** `client` + key digest → when this isolate last verified that key (ms). */
const verifiedAt = new Map<string, number>();

function remember(map: Map<string, number>, key: string, value: number): void {
  map.delete(key);
  if (map.size >= MAX_REMEMBERED) map.delete(map.keys().next().value!);
  map.set(key, value);
}

export function tooManyFailures(retryAfterSeconds: number): ApiError {
  const seconds = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  return new ApiError(429, "rate_limited", `Too many failed authentications; try again in ${seconds} s.`, undefined, { "Retry-After": seconds });
}

/** When the address's block ends (ms), or null when it is not blocked. */
export function blockedAddressUntil(address: string | null, now = Date.now()): number | null {
  if (address === null) return null;
  const until = blockedUntil.get(address);
  if (until === undefined) return null;
  if (until > now) return until;
  blockedUntil.delete(address);
  return null;
}

/** Notes that the key with this digest authenticated `client`, so that it still passes should its address be blocked. */
export function rememberVerified(client: string, keyDigest: string, now = Date.now()): void {
  remember(verifiedAt, `${client}\n${keyDigest}`, now);
}

/** Whether this isolate verified the key with this digest for `client` within VERIFIED_MS. */
export function recentlyVerified(client: string, keyDigest: string, now = Date.now()): boolean {
  const at = verifiedAt.get(`${client}\n${keyDigest}`);
  return at !== undefined && now - at < VERIFIED_MS;
}

/**
 * Counts one failed authentication and returns the error to answer: `401`, or `429` when the address or the
 * client name is past its budget. A request without a source address is counted by client name alone.
 */
export async function failedAuthentication(limits: AuthFailureLimits, address: string | null, client: string | null, unauthorised: ApiError, now = Date.now()): Promise<ApiError> {
  const [addressOk, clientOk] = await Promise.all([
    address === null ? true : limits.byAddress.limit({ key: address }).then((outcome) => outcome.success),
    client === null ? true : limits.byClient.limit({ key: client }).then((outcome) => outcome.success),
  ]);
  if (!addressOk && address !== null) remember(blockedUntil, address, now + WINDOW_SECONDS * 1000);
  return addressOk && clientOk ? unauthorised : tooManyFailures(WINDOW_SECONDS);
}
