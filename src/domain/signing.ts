/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `v1,<base64 HMAC-SHA256 of
 * "{webhook-id}.{webhook-timestamp}.{body}">`, keyed with the base64 part of a `whsec_` secret.
 * Web Crypto only, so it runs in workerd and in Node alike.
 */

const encoder = new TextEncoder();

/** A new signing secret: `whsec_` + 32 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export function isSigningSecret(text: string): boolean {
  return /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(text);
}

/** The `webhook-signature` header: one `v1,` signature per secret (two during a rotation), space-separated. */
export async function signatureHeader(secrets: string[], id: string, timestamp: number, body: string): Promise<string> {
  const content = encoder.encode(`${id}.${timestamp}.${body}`);
  const signatures = await Promise.all(
    secrets.map(async (secret) => `v1,${toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", await signingKey(secret), content)))}`),
  );
  return signatures.join(" ");
}

/** Imported signing keys by secret: importing one costs more than the signature it makes. */
const signingKeys = new Map<string, Promise<CryptoKey>>();
const MAX_SIGNING_KEYS = 256;

function signingKey(secret: string): Promise<CryptoKey> {
  let key = signingKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", fromBase64(secret.slice("whsec_".length)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    // A rejected import is not kept: the next signature tries again.
    key.catch(() => signingKeys.delete(secret));
    signingKeys.set(secret, key);
    if (signingKeys.size > MAX_SIGNING_KEYS) signingKeys.delete(signingKeys.keys().next().value!);
  }
  return key;
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
