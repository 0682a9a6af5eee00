/**
 * The secrets the fuzzer knows (API keys, signing secrets, the admin token, callback rule header values,
 * storage credentials), to check that no response carries one except the show-once creation responses.
 */

/** Shorter values would turn up by chance (a header value "a"); the fuzzer's own secrets are long. */
const MIN_SECRET_LENGTH = 12;

export class SecretRegistry {
  private readonly values = new Set<string>();

  add(...values: (string | undefined)[]): void {
    for (const value of values) if (value !== undefined && value.length >= MIN_SECRET_LENGTH) this.values.add(value);
  }

  /** The known secrets that occur in `text`. */
  foundIn(text: string): string[] {
    return [...this.values].filter((secret) => text.includes(secret));
  }

  /** `text` with every known secret replaced by a placeholder (for printing requests). */
  hide(text: string): string {
    let hidden = text;
    for (const secret of this.values) if (hidden.includes(secret)) hidden = hidden.split(secret).join(`<secret ${secret.slice(0, 4)}…>`);
    return hidden;
  }
}

/** Operations whose 2xx response shows a new secret once, and the fields that carry it. */
const SHOW_ONCE: Record<string, string[]> = {
  "POST /admin/clients": ["api_key", "signing_secret"],
  "POST /admin/clients/{name}/keys": ["api_key"],
  "POST /admin/clients/{name}/signing-secrets": ["signing_secret"],
};

/** The secrets a show-once response created (to watch for from then on). */
export function showOnceSecrets(operation: string, status: number, body: unknown): string[] {
  const fields = SHOW_ONCE[operation];
  if (!fields || status < 200 || status >= 300 || typeof body !== "object" || body === null) return [];
  return fields.map((field) => (body as Record<string, unknown>)[field]).filter((value): value is string => typeof value === "string");
}

const SECRET_FIELD = /secret|token|password|sas|authorization/i;

/**
 * Secret values a request body stores: strings under secret-looking field names, and every value of a
 * callback rule's `headers` (header values are secrets, README "Callback rules").
 */
export function secretsInBody(body: unknown, key = "", insideHeaders = false): string[] {
  if (typeof body === "string") return insideHeaders || SECRET_FIELD.test(key) ? [body] : [];
  if (Array.isArray(body)) return body.flatMap((item) => secretsInBody(item, key, false));
  if (typeof body !== "object" || body === null) return [];
  return Object.entries(body).flatMap(([name, value]) => secretsInBody(value, name, key === "headers"));
}
