/**
 * DRM for packages (media.md, DRM): which protection schemes a `drm` list needs, the systems' ids, the
 * content keys a package is encrypted with, and the static provider's key derivation. Pure (WebCrypto only).
 */

/** The `drm` values that protect content (every one but `clear`). */
export type ProtectedSystem = "widevine" | "playready" | "fairplay" | "cenc" | "aes";
/** CENC protection schemes shaka-packager encrypts with: AES-CTR (`cenc`) or AES-CBC pattern (`cbcs`). */
export type Scheme = "cenc" | "cbcs";
/** CPIX intended track types: one key per track type and scheme. */
export type TrackType = "VIDEO" | "AUDIO";
export const TRACK_TYPES: readonly TrackType[] = ["VIDEO", "AUDIO"];

/** DASH-IF registered system ids (dashif.org/identifiers/content_protection). */
export const SYSTEM_IDS: Record<Exclude<ProtectedSystem, "aes">, string> = {
  widevine: "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
  playready: "9a04f079-9840-4286-ab92-e65be0885f95",
  fairplay: "94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
  cenc: "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b",
};

/** Which scheme each system is packaged with: FairPlay needs cbcs; Widevine, PlayReady and plain CENC take cenc. */
const SCHEME_OF: Record<Exclude<ProtectedSystem, "aes">, Scheme> = { widevine: "cenc", playready: "cenc", cenc: "cenc", fairplay: "cbcs" };

/** The systems of a `drm` list that each scheme's package carries (a scheme is absent when nothing needs it). */
export function schemesFor(drm: readonly string[]): Partial<Record<Scheme, Exclude<ProtectedSystem, "aes">[]>> {
  const schemes: Partial<Record<Scheme, Exclude<ProtectedSystem, "aes">[]>> = {};
  for (const system of new Set(drm)) {
    if (!(system in SCHEME_OF)) continue;
    const named = system as Exclude<ProtectedSystem, "aes">;
    (schemes[SCHEME_OF[named]] ??= []).push(named);
  }
  return schemes;
}

/** One content key: 16-byte key id and key, lowercase hex. */
export interface ContentKey {
  scheme: Scheme;
  track: TrackType;
  key_id: string;
  key: string;
}

/** What a system needs besides the keys, as a key server gave it (CPIX DRMSystem): all optional. */
export interface SystemSignalling {
  scheme: Scheme;
  system: Exclude<ProtectedSystem, "aes">;
  key_id: string;
  /** A whole `pssh` box, base64. */
  pssh?: string;
  /** The HLS key URI (FairPlay `skd://…`). */
  hls_key_uri?: string;
}

/** The key ids and signalling of a package's keys: what may be stored and shown (no key). */
export interface KeySet {
  keys: ContentKey[];
  signalling: SystemSignalling[];
}

const HEX16 = /^[0-9a-f]{32}$/;

/** A 16-byte value as a UUID (CPIX writes key ids that way). */
export function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A UUID (or 32 hex digits) as 32 lowercase hex digits, or null. */
export function hexOfUuid(text: string): string | null {
  const hex = text.replaceAll("-", "").toLowerCase();
  return HEX16.test(hex) ? hex : null;
}

export function bytesToHex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** A random key id for a key a key server is asked for (RFC 4122 version 4, as key ids usually are). */
export function randomKeyId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return bytesToHex(bytes);
}

/** The smallest seed the static provider takes: 16 bytes of entropy, as hex or base64 text. */
export const MIN_SEED_CHARS = 32;

/**
 * The static provider (media.md, DRM: development and tests): each key id and key derived with HKDF-SHA-256
 * from the client's secret seed, salted with the content id and labelled with the scheme and track type, so
 * a package made again of the same content gets the same keys, and two contents never share one.
 */
export async function staticKeys(seed: string, contentId: string, schemes: readonly Scheme[]): Promise<ContentKey[]> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(seed), "HKDF", false, ["deriveBits"]);
  const derive = async (label: string) =>
    bytesToHex(new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode(contentId), info: new TextEncoder().encode(label) }, material, 128)));
  const keys: ContentKey[] = [];
  for (const scheme of schemes) {
    for (const track of TRACK_TYPES) {
      keys.push({ scheme, track, key_id: await derive(`task-engine key id ${scheme} ${track}`), key: await derive(`task-engine content key ${scheme} ${track}`) });
    }
  }
  return keys;
}
