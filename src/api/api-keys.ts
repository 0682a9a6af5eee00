/** API keys: random, shown once, stored as SHA-256 hex digests, compared in constant time. */

const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A new API key: 32 random bytes (256 bits), base64url, with a recognisable prefix. */
export function newApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `tek_${btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/**
 * Whether `presented` matches one of the stored digests. Every digest is compared, each in constant
 * time, so the time taken says nothing about which key (or how much of one) matched.
 */
export async function matchesAnyKey(presented: string, storedHashes: string[]): Promise<boolean> {
  return matchesAnyDigest(await sha256Hex(presented), storedHashes);
}

/** matchesAnyKey for a key whose digest the caller already computed. */
export function matchesAnyDigest(presentedDigest: string, storedHashes: string[]): boolean {
  const candidate = encoder.encode(presentedDigest);
  let matched = false;
  for (const stored of storedHashes) {
    const expected = encoder.encode(stored);
    if (expected.byteLength !== candidate.byteLength) continue;
    if (crypto.subtle.timingSafeEqual(expected, candidate)) matched = true;
  }
  return matched;
}
