import { clientConfigText } from "../db/clients";
import { activeSecrets, parseClientConfig, ruleFor, type ClientConfig } from "../domain/client-config";
import { signatureHeader } from "../domain/signing";
import type { Deliverable } from "./messages";

/** How long an isolate reuses a client's configuration: a rotation or a header change applies within this. */
const CONFIG_TTL_MS = 5_000;

const cache = new Map<string, { config: ClientConfig; loadedAt: number }>();

async function configOf(db: D1Database, client: string, now: number): Promise<ClientConfig> {
  const cached = cache.get(client);
  if (cached && now - cached.loadedAt < CONFIG_TTL_MS) return cached.config;
  const config = parseClientConfig(await clientConfigText(db, client));
  cache.set(client, { config, loadedAt: now });
  return config;
}

/**
 * The per-attempt headers of a callback, from the client's live configuration: the matching rule's extra
 * headers (secret values, never logged) and the Standard Webhooks signature with every active secret.
 */
export function callbackHeaders(db: D1Database): (delivery: Deliverable, timestamp: number) => Promise<Record<string, string>> {
  return async (delivery, timestamp) => {
    const now = Date.now();
    const config = await configOf(db, delivery.client, now);
    const headers: Record<string, string> = { ...ruleFor(delivery.endpoint, config.callback_rules)?.headers };
    const secrets = activeSecrets(config, now);
    if (secrets.length > 0) headers["webhook-signature"] = await signatureHeader(secrets, delivery.id, timestamp, delivery.body);
    return headers;
  };
}
