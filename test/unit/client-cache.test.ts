import { describe, expect, it } from "vitest";
import { CLIENT_CACHE_MS, clientRecord, forgetClient } from "../../src/api/client-cache";

/**
 * The isolate's copy of a client (client-cache.ts): read once per CLIENT_CACHE_MS, forgotten at once when
 * this isolate changes the client, and never replaced by a read that started before such a change.
 */

/** A D1 that answers the snapshot batch with the key digests of `keys()` at the moment it answers, when released. */
function database(keys: () => string[]) {
  const pending: (() => void)[] = [];
  let reads = 0;
  const statement = { bind: () => statement };
  const db = {
    prepare: () => statement,
    batch: async () => {
      reads++;
      await new Promise<void>((resolve) => pending.push(resolve));
      return [{ results: keys().map((key_hash) => ({ key_hash })) }, { results: [] }, { results: [{ config: "{}", index_shard: 0 }] }, { results: [] }, { results: [{ version: null }] }];
    },
  } as unknown as D1Database;
  return { db, releaseAll: () => pending.splice(0).forEach((resolve) => resolve()), reads: () => reads };
}

describe("the client cache", () => {
  it("reads D1 once per CLIENT_CACHE_MS, and again at once after forgetClient", async () => {
    const client = `cache-${crypto.randomUUID()}`;
    const { db, releaseAll, reads } = database(() => ["k1"]);
    const now = Date.now();
    const first = clientRecord(db, client, { now });
    releaseAll();
    expect((await first).keyDigests).toStrictEqual(["k1"]);
    expect((await clientRecord(db, client, { now: now + CLIENT_CACHE_MS - 1 })).keyDigests).toStrictEqual(["k1"]);
    expect(reads()).toBe(1);
    const expired = clientRecord(db, client, { now: now + CLIENT_CACHE_MS });
    releaseAll();
    await expired;
    expect(reads()).toBe(2);
    forgetClient(client);
    const again = clientRecord(db, client, { now: now + CLIENT_CACHE_MS + 1 });
    releaseAll();
    await again;
    expect(reads()).toBe(3);
  });

  it("does not keep a read that was under way when this isolate changed the client", async () => {
    const client = `cache-${crypto.randomUUID()}`;
    let keys = ["old-key"];
    const { db, releaseAll } = database(() => keys);
    const now = Date.now();
    // A read starts and sees the key; meanwhile this isolate revokes it (the cache is forgotten, D1 changes).
    const stale = clientRecord(db, client, { now });
    forgetClient(client);
    releaseAll();
    expect((await stale).keyDigests).toStrictEqual(["old-key"]);
    keys = [];
    const next = clientRecord(db, client, { now: now + 1 });
    releaseAll();
    expect((await next).keyDigests).toStrictEqual([]);
  });
});
