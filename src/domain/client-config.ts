import { z } from "zod";
import { MAX_TEMPLATE_BYTES, utf8Bytes } from "./callback-size";
import { redactedStorage, StorageConfig } from "./storage-config";

/** The operator-managed configuration of a client (D1 `clients.config`). */

/** A worker pool's name. No regex flags: a flag does not reach the pattern /openapi.json publishes. */
export const PoolName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be 1-63 lowercase letters, digits, dots, dashes or underscores");

/** `task.progress` is sent only to endpoints whose rule lists it (opt-in, at most every 5 s per task). */
export const CALLBACK_EVENTS = ["task.start", "task.complete", "task.fail", "task.progress", "job.end"] as const;
export type CallbackEvent = (typeof CALLBACK_EVENTS)[number];

const HeaderName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "must be a valid HTTP header name");
/**
 * RFC 9110 field-value: visible characters (and obs-text), with spaces and tabs only between them. Anything
 * else (control characters, DEL, line breaks, leading or trailing whitespace, characters past U+00FF) could
 * never be sent as it was configured: refused here rather than on every delivery.
 */
const HeaderValue = z
  .string()
  .max(4096)
  .regex(/^(?:[\x21-\x7e\x80-\xff](?:[\x20\x09\x21-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/, {
    message: "must be a valid HTTP field value: visible characters, with spaces or tabs only between them (no control characters, no leading or trailing whitespace)",
  });
/** Headers a rule may not set: the engine owns them. */
const RESERVED_HEADERS = new Set(["content-type", "content-length", "host", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature"]);

export const CallbackRule = z.object({
  /** The rule applies to endpoints whose URL starts with this prefix (the longest matching prefix wins). */
  prefix: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^[^\s\u0000-\u001f\u007f-\u009f]+$/, "must not contain spaces or control characters (no callback URL has them)"),
  /** Extra headers; their values are secrets: never returned by the API nor logged. */
  headers: z
    .record(HeaderName, HeaderValue)
    .refine((headers) => Object.keys(headers).every((name) => !RESERVED_HEADERS.has(name.toLowerCase())), "must not set engine-owned headers")
    .optional(),
  /** Only these events are sent to matching endpoints (all but the opt-in `task.progress` when absent). */
  events: z.array(z.enum(CALLBACK_EVENTS)).min(1).optional(),
  /** The body to send instead of the default one; `"{{field}}"` strings are replaced by the default body's fields. */
  // Any JSON value (it arrives from a JSON body). Not z.json(): its recursive schema loops the OpenAPI generator.
  body_template: z
    .unknown()
    .refine((template) => template === undefined || utf8Bytes(JSON.stringify(template)) <= MAX_TEMPLATE_BYTES, `must be at most ${MAX_TEMPLATE_BYTES / 1024} KiB of JSON`)
    .optional(),
});
export type CallbackRule = z.infer<typeof CallbackRule>;

/**
 * Where a client's DRM keys come from (media.md, DRM; operator configuration, never job parameters): a
 * DASH-IF CPIX 2.3 key server reached over HTTPS with the client's headers, or keys derived from a secret
 * seed (`static`, for development and tests). The seed and the header values are secrets.
 */
export const KeyProvider = z.discriminatedUnion("provider", [
  z.object({
    provider: z.literal("static"),
    seed: z.string().min(32, "must be at least 32 characters (16 bytes of hex, or more)").max(512),
  }),
  z.object({
    provider: z.literal("cpix"),
    url: z.string().max(2048),
    headers: z.record(HeaderName, HeaderValue).optional(),
  }),
]);
export type KeyProvider = z.infer<typeof KeyProvider>;

export const SigningSecretEntry = z.object({
  secret: z.string(),
  /** After this time the secret no longer signs (the end of a rotation's overlap). */
  expires_at: z.string().nullable().default(null),
});

export const ClientConfig = z.object({
  callback_rules: z.array(CallbackRule).max(50).default([]),
  /** Newest first. During a rotation, the old secret stays until it expires and both sign. */
  signing_secrets: z.array(SigningSecretEntry).max(5).default([]),
  /** Storage names → driver, location and roots (storage-config.ts). */
  storage: StorageConfig.default({ locations: {} }),
  /** Worker pools a workflow names → this client's own pools (workers.md), e.g. `{"media": "acme-onprem"}`. */
  pools: z.record(PoolName, PoolName).optional(),
  /** The client's DRM key provider; absent: protected packages are refused. */
  drm: KeyProvider.optional(),
});
export type ClientConfig = z.infer<typeof ClientConfig>;

/**
 * Parses a stored configuration. One written before a check was tightened (a rule header that is no longer
 * a valid field value, say) keeps every part that still parses: a bad rule is dropped, never the client's
 * signing secrets or storage with it. Text that is not a JSON object counts as empty.
 */
export function parseClientConfig(text: string | null): ClientConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text ?? "{}");
  } catch {
    raw = {};
  }
  const whole = ClientConfig.safeParse(raw);
  if (whole.success) return whole.data;
  const parts = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const rules = Array.isArray(parts.callback_rules) ? parts.callback_rules : [];
  return ClientConfig.parse({
    callback_rules: rules.flatMap((rule) => {
      const parsed = CallbackRule.safeParse(rule);
      return parsed.success ? [parsed.data] : [];
    }).slice(0, 50),
    signing_secrets: ClientConfig.shape.signing_secrets.safeParse(parts.signing_secrets).data ?? [],
    storage: ClientConfig.shape.storage.safeParse(parts.storage).data ?? { locations: {} },
    pools: ClientConfig.shape.pools.safeParse(parts.pools).data,
    drm: ClientConfig.shape.drm.safeParse(parts.drm).data,
  });
}

/**
 * A stored configuration with some of its sections replaced. The other sections are kept as they are
 * stored, even a section that no longer parses (it is unused meanwhile, but an operator's write to one
 * section must never silently drop another).
 */
export function withSections(text: string | null, sections: Partial<ClientConfig>): string {
  let stored: unknown;
  try {
    stored = JSON.parse(text ?? "{}");
  } catch {
    stored = {};
  }
  const base = stored !== null && typeof stored === "object" && !Array.isArray(stored) ? stored : {};
  return JSON.stringify({ ...base, ...sections });
}

/** The rule for an endpoint: the one with the longest matching prefix. */
export function ruleFor(endpoint: string, rules: CallbackRule[]): CallbackRule | undefined {
  let best: CallbackRule | undefined;
  for (const rule of rules) {
    if (endpoint.startsWith(rule.prefix) && (!best || rule.prefix.length > best.prefix.length)) best = rule;
  }
  return best;
}

/** The secrets that sign at `now`: unexpired ones, newest first. */
export function activeSecrets(config: ClientConfig, now: number): string[] {
  return config.signing_secrets.filter((entry) => entry.expires_at === null || Date.parse(entry.expires_at) > now).map((entry) => entry.secret);
}

/** The configuration as the API shows it: header values and secrets masked. */
export function redactedConfig(config: ClientConfig): unknown {
  return {
    callback_rules: config.callback_rules.map((rule) => ({
      ...rule,
      headers: rule.headers ? Object.fromEntries(Object.keys(rule.headers).map((name) => [name, "********"])) : undefined,
    })),
    signing_secrets: config.signing_secrets.map((entry) => ({ secret: "********", expires_at: entry.expires_at })),
    storage: redactedStorage(config.storage),
    pools: config.pools,
    drm: config.drm ? redactedKeyProvider(config.drm) : undefined,
  };
}

/** A key provider as the API shows it: the seed and header values masked. */
export function redactedKeyProvider(provider: KeyProvider): Record<string, unknown> {
  if (provider.provider === "static") return { provider: "static", seed: "********" };
  return { ...provider, headers: provider.headers ? Object.fromEntries(Object.keys(provider.headers).map((name) => [name, "********"])) : undefined };
}
