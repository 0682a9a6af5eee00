import { clientSnapshot, type ClientSnapshot } from "../db/clients";

/**
 * What the API knows about a client, kept in the isolate's memory for at most `CLIENT_CACHE_MS` so that a
 * request (a submit above all) does not read D1 for it: the digests of its active API keys and its snapshot
 * (stored settings, configuration, switched-off schedules). One D1 batch fills it.
 *
 * The bound is the promise made in the README: a key revoked, a setting or a configuration changed through
 * another isolate is seen here within 10 s. This isolate forgets a client at once when it makes such a
 * change itself (`forgetClient`), and a key it does not know sends it back to D1 at once (a new key works
 * immediately; wrong keys are throttled by auth-throttle.ts before they could make that a D1 load).
 */

export const CLIENT_CACHE_MS = 10_000;
/** Clients kept per isolate; the oldest is forgotten first. */
const MAX_CLIENTS = 1_000;

export interface ClientRecord extends ClientSnapshot {
  /** SHA-256 digests (hex) of the client's active API keys. */
  keyDigests: string[];
  /** When it was read from D1 (ms). */
  readAt: number;
}

const records = new Map<string, ClientRecord>();
/** Bumped by forgetClient: a read that started before a change must not store what it read. */
const epochs = new Map<string, number>();

/** The client's record: from memory when read in the last CLIENT_CACHE_MS, else from D1 (`fresh` forces D1). */
export async function clientRecord(db: D1Database, client: string, options: { fresh?: boolean; now?: number } = {}): Promise<ClientRecord> {
  const now = options.now ?? Date.now();
  const known = records.get(client);
  if (known && !options.fresh && now - known.readAt < CLIENT_CACHE_MS && known.readAt <= now) return known;
  const epoch = epochs.get(client) ?? 0;
  const record = { ...(await clientSnapshot(db, client)), readAt: now };
  const newer = records.get(client);
  // Kept unless this isolate changed the client while it was read, or a read started later already landed.
  if ((epochs.get(client) ?? 0) === epoch && !(newer && newer.readAt > record.readAt)) {
    records.delete(client);
    records.set(client, record);
    if (records.size > MAX_CLIENTS) records.delete(records.keys().next().value!);
  }
  return record;
}

/** Drops what this isolate knows of `client` (after changing its keys, settings, configuration or schedules). */
export function forgetClient(client: string): void {
  records.delete(client);
  epochs.set(client, (epochs.get(client) ?? 0) + 1);
  if (epochs.size > MAX_CLIENTS) epochs.delete(epochs.keys().next().value!);
}
