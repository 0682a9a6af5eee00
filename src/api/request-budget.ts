import { LEASE_MS, leaseSize } from "../domain/token-bucket";

/**
 * A client's requests drawn from its token bucket (rate-limiter.ts) through a lease per isolate: the isolate
 * takes `leaseSize` tokens at once and spends them locally for up to LEASE_MS, so a busy client costs one
 * Durable Object request per lease instead of one per request. Tokens a lease did not spend are lost, never
 * returned: a client gets at most its rate and burst, sometimes a little less when its requests are spread
 * over many isolates. Concurrent requests of an isolate wait for one lease request rather than each
 * sending its own.
 */

export type BucketAnswer = { ok: boolean; granted: number; retryAfterMs: number };

interface Lease {
  tokens: number;
  expiresAt: number;
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
    lease = { tokens: 0, expiresAt: 0, asking: null };
    leases.set(client, lease);
    if (leases.size > MAX_CLIENTS) leases.delete(leases.keys().next().value!);
  }
  let asked = 0;
  for (;;) {
    if (lease.tokens > 0 && Date.now() < lease.expiresAt) {
      lease.tokens--;
      return { ok: true, retryAfterMs: 0, asked };
    }
    let answer: BucketAnswer;
    if (lease.asking) answer = await lease.asking;
    else {
      const asking = ask(leaseSize(limits.rate, limits.burst));
      lease.asking = asking;
      asked++;
      try {
        answer = await asking;
      } finally {
        lease.asking = null;
      }
      lease.tokens = answer.granted;
      lease.expiresAt = Date.now() + LEASE_MS;
    }
    if (!answer.ok) return { ok: false, retryAfterMs: answer.retryAfterMs, asked };
  }
}

/** Drops the client's lease (its rate settings changed: the next request asks the bucket with them). */
export function forgetLease(client: string): void {
  leases.delete(client);
}
