/** API keys: random, shown once, stored as SHA-256 hex digests, compared in constant time. */
import { matchesAnyDigest, sha256Hex } from "../domain/digest";

export { matchesAnyDigest, sha256Hex };

/** A new API key: 32 random bytes (256 bits), base64url, with a recognisable prefix. */
export function newApiKey(): string {
  return `tek_${randomToken()}`;
}

/** 32 random bytes (256 bits), base64url: the secret part of API keys, worker tokens and lease ids. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Whether `presented` matches one of the stored digests. Every digest is compared, each in constant
 * time, so the time taken says nothing about which key (or how much of one) matched.
 */
export async function matchesAnyKey(presented: string, storedHashes: string[]): Promise<boolean> {
  return matchesAnyDigest(await sha256Hex(presented), storedHashes);
}
