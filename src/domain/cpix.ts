import { XMLParser } from "fast-xml-parser";
import { hexOfUuid, SYSTEM_IDS, uuidOf, type ContentKey, type KeySet, type Scheme, type SystemSignalling, type TrackType } from "./drm";

/**
 * DASH-IF CPIX 2.3 (Content Protection Information Exchange) as a packager speaks it to a key server: a
 * request document naming the content key ids the engine chose, each with its scheme and intended track type,
 * and the DRM systems it wants signalling for; the answer is the same document with each key's value
 * (`pskc:PlainValue`) and, per system, its PSSH box and HLS key URI. Pure.
 */

/** What the engine asks for: one key per scheme and track type, and the systems each scheme's package carries. */
export interface CpixAsk {
  contentId: string;
  keys: { scheme: Scheme; track: TrackType; key_id: string }[];
  systems: { scheme: Scheme; system: keyof typeof SYSTEM_IDS }[];
}

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The request document (POSTed as `application/xml`). */
export function cpixRequest(ask: CpixAsk): string {
  const keys = ask.keys.map((key) => `    <cpix:ContentKey kid="${uuidOf(key.key_id)}" commonEncryptionScheme="${key.scheme}"/>`);
  const systems = ask.systems.flatMap(({ scheme, system }) =>
    // Empty signalling elements ask the server to fill them in: a PSSH box, or FairPlay's key URI.
    ask.keys.filter((key) => key.scheme === scheme).map((key) => `    <cpix:DRMSystem kid="${uuidOf(key.key_id)}" systemId="${SYSTEM_IDS[system]}">${system === "fairplay" ? "<cpix:URIExtXKey/>" : "<cpix:PSSH/>"}</cpix:DRMSystem>`),
  );
  const rules = ask.keys.map(
    (key) => `    <cpix:ContentKeyUsageRule kid="${uuidOf(key.key_id)}" intendedTrackType="${key.track}">${key.track === "VIDEO" ? "<cpix:VideoFilter/>" : "<cpix:AudioFilter/>"}</cpix:ContentKeyUsageRule>`,
  );
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<cpix:CPIX xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" contentId="${escapeXml(ask.contentId)}" version="2.3">`,
    `  <cpix:ContentKeyList>`,
    ...keys,
    `  </cpix:ContentKeyList>`,
    `  <cpix:DRMSystemList>`,
    ...systems,
    `  </cpix:DRMSystemList>`,
    `  <cpix:ContentKeyUsageRuleList>`,
    ...rules,
    `  </cpix:ContentKeyUsageRuleList>`,
    `</cpix:CPIX>`,
    ``,
  ].join("\n");
}

/** A key server's answer that cannot be used; its message says why (and never carries a key). */
export class CpixError extends Error {}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  removeNSPrefix: true,
  processEntities: true,
  isArray: (name) => ["ContentKey", "DRMSystem", "ContentKeyUsageRule"].includes(name),
});

type Node = Record<string, unknown>;
const text = (value: unknown): string | null => (typeof value === "string" ? value.trim() : typeof value === "object" && value !== null && typeof (value as Node)["#text"] === "string" ? ((value as Node)["#text"] as string).trim() : null);

function base64Bytes(value: string | null): Uint8Array | null {
  if (value === null || !/^[A-Za-z0-9+/]+={0,2}$/.test(value.replace(/\s+/g, ""))) return null;
  try {
    return Uint8Array.from(atob(value.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * The keys and signalling of a key server's answer to `ask`: every key asked for must come back with a 16-byte
 * value in clear (`PlainValue`; encrypted documents need a key exchange this engine does not do). PSSH and HLS
 * key URIs are used as given when present.
 */
export function parseCpixResponse(body: string, ask: CpixAsk): KeySet {
  // A DTD could define entities that expand without end: a key server's document never needs one.
  if (/<!DOCTYPE/i.test(body)) throw new CpixError("the key server's answer has a DOCTYPE, which a CPIX document never needs");
  let document: Node;
  try {
    document = parser.parse(body, true) as Node;
  } catch (error) {
    throw new CpixError(`the key server's answer is not XML (${(error as Error).message.split("\n")[0]!.slice(0, 120)})`);
  }
  const root = document.CPIX as Node | undefined;
  if (!root || typeof root !== "object") throw new CpixError("the key server's answer is not a CPIX document (no CPIX element)");
  const contentKeys = ((root.ContentKeyList as Node | undefined)?.ContentKey as Node[] | undefined) ?? [];
  const byKid = new Map<string, Node>();
  for (const node of contentKeys) {
    const kid = hexOfUuid(String(node["@kid"] ?? ""));
    if (kid) byKid.set(kid, node);
  }
  const keys: ContentKey[] = ask.keys.map((wanted) => {
    const node = byKid.get(wanted.key_id);
    const label = `key id ${uuidOf(wanted.key_id)} (${wanted.track}, ${wanted.scheme})`;
    if (!node) throw new CpixError(`the key server's CPIX document has no content key for ${label}`);
    const secret = ((node.Data as Node | undefined)?.Secret as Node | undefined) ?? {};
    if (secret.EncryptedValue !== undefined) throw new CpixError(`the key server encrypted the content key for ${label}; this engine takes keys as PlainValue (CPIX over HTTPS)`);
    const bytes = base64Bytes(text(secret.PlainValue));
    if (!bytes || bytes.length !== 16) throw new CpixError(`the key server's content key for ${label} is not 16 bytes of base64`);
    return { ...wanted, key: [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("") };
  });
  const signalling: SystemSignalling[] = [];
  for (const node of ((root.DRMSystemList as Node | undefined)?.DRMSystem as Node[] | undefined) ?? []) {
    const kid = hexOfUuid(String(node["@kid"] ?? ""));
    const systemId = String(node["@systemId"] ?? "").toLowerCase();
    const key = ask.keys.find((k) => k.key_id === kid);
    const system = (Object.keys(SYSTEM_IDS) as (keyof typeof SYSTEM_IDS)[]).find((name) => SYSTEM_IDS[name] === systemId);
    if (!key || !system || !ask.systems.some((s) => s.system === system && s.scheme === key.scheme)) continue;
    const pssh = text(node.PSSH);
    const uri = base64Bytes(text(node.URIExtXKey));
    if (pssh !== null && !isPsshBox(base64Bytes(pssh))) throw new CpixError(`the key server's PSSH for ${system} (key id ${uuidOf(key.key_id)}) is not a pssh box`);
    signalling.push({
      scheme: key.scheme,
      system,
      key_id: key.key_id,
      ...(pssh ? { pssh: pssh.replace(/\s+/g, "") } : {}),
      ...(uri ? { hls_key_uri: new TextDecoder().decode(uri) } : {}),
    });
  }
  return { keys, signalling };
}

/** Whether bytes are one ISO BMFF `pssh` box (size, then the type). */
function isPsshBox(bytes: Uint8Array | null): boolean {
  if (!bytes || bytes.length < 32) return false;
  const size = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
  return size === bytes.length && String.fromCharCode(...bytes.subarray(4, 8)) === "pssh";
}
