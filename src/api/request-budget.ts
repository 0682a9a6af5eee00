import { LEASE_MS, leaseSize } from "../domain/token-bucket";

/**
 * A client's requests drawn from its token bucket (rate-limiter.ts) through a lease per isolate: the isolate
 * takes tokens a few at a time and spends them locally for up to LEASE_MS, so a busy client costs one
 * Durable Object request per lease instead of one per request. A lease's size follows the isolate's own
 * demand: one token at first, doubled each time a lease is spent before it expires, halved when one expires
 * unspent, never above `leaseSize` (a second's worth of the rate, at most a quarter of the burst). Tokens a
 * lease did not spend are lost, never returned, so a client gets at most its rate and burst; an isolate that
 * sees a request now and then takes one token at a time and wastes none. Concurrent requests of an isolate
 * wait for one lease request rather than each sending its own.
 */

export type BucketAnswer = { ok: boolean; granted: number; retryAfterMs: number };

interface Lease {
  tokens: number;
  expiresAt: number;
  /** How many tokens the next request to the bucket asks for. */
  nextSize: number;
  /** The bucket's answer being awaited, if any. */
  asking: Promise<BucketAnswer> | null;
}

const leases = new Map<string, Lease>();
/** Clients kept per isolate; the oldest is forgotten first. */
const MAX_CLIENTS = 1_000;

/**
 * One request's token: `{ ok: true }`, or the wait before the client may try again. `ask(want)` asks the
 * client's bucket for tokens; `asked` counts the bucket requests made for this request (for its cost).
 */
export async function drawRequest(
  client: string,
  limits: { rate: number; burst: number },
  ask: (want: number) => Promise<BucketAnswer>,
): Promise<{ ok: boolean; retryAfterMs: number; asked: number }> {
  let lease = leases.get(client);
  if (!lease) {
    lease = { tokens: 0, expiresAt: 0, nextSize: 1, asking: null };
    leases.set(client, lease);
    if (leases.size > MAX_CLIENTS) leases.delete(leases.keys().next().value!);
  }
  const largest = leaseSize(limits.rate, limits.burst);
  let asked = 0;
  for (;;) {
    const now = Date.now();
    if (lease.tokens > 0 && now < lease.expiresAt) {
      lease.tokens--;
      return { ok: true, retryAfterMs: 0, asked };
    }
    let answer: BucketAnswer;
    if (lease.asking) answer = await lease.asking;
    else {
      // Spent before it expired: the isolate is busy, the next lease is larger; expired unspent: smaller.
      const spent = lease.tokens === 0 && lease.expiresAt > now;
      const size = Math.min(largest, Math.max(1, lease.expiresAt === 0 ? 1 : spent ? lease.nextSize * 2 : Math.floor(lease.nextSize / 2)));
      lease.nextSize = size;
      const asking = ask(size);
      lease.asking = asking;
      asked++;
      try {
        answer = await asking;
      } finally {
        lease.asking = null;
      }
      // An answer without a count (an older rate limiter during a deploy) grants the one token it was asked for.
      lease.tokens = answer.ok ? Math.max(1, answer.granted ?? 1) : 0;
      lease.expiresAt = Date.now() + LEASE_MS;
    }
    if (!answer.ok) return { ok: false, retryAfterMs: answer.retryAfterMs, asked };
  }
}

/** Drops the client's lease (its rate settings changed: the next request asks the bucket with them). */
export function forgetLease(client: string): void {
  leases.delete(client);
}
