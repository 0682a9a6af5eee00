/** SHA-256 digests of secrets (API keys, worker tokens, lease ids), compared in constant time. */

const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Whether a digest matches one of the stored digests; every one is compared, each in constant time. */
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
