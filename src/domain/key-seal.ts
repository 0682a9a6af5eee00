/**
 * DRM keys at rest (media.md, DRM: keys reach only the worker's lease input). `get_drm_keys` seals the keys it
 * got into its output with AES-256-GCM under a key derived (HKDF) from the deployment's `DRM_KEY_SECRET`, bound
 * to the job (additional data: its id), so the job's stored state, its API views and its callbacks hold only
 * ciphertext; the worker API opens them when it hands the lease to a worker. Without the secret, no keys are
 * fetched at all (a production default: no keys under a known development value).
 */

const PREFIX = "sealed.v1.";

async function sealingKey(secret: string, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("task-engine drm key sealing") },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** `value` as JSON, sealed for one job: `sealed.v1.<iv>.<ciphertext>` (base64). */
export async function sealFor(jobId: string, value: unknown, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new TextEncoder().encode(JSON.stringify(value));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(jobId) }, await sealingKey(secret, "encrypt"), data);
  return `${PREFIX}${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

/** What `sealFor` sealed for this job; throws when the text was not sealed for it under this secret. */
export async function openFor(jobId: string, text: string, secret: string): Promise<unknown> {
  const [iv, data] = text.startsWith(PREFIX) ? text.slice(PREFIX.length).split(".") : [];
  if (!iv || !data) throw new Error("not a sealed value");
  const opened = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv), additionalData: new TextEncoder().encode(jobId) }, await sealingKey(secret, "decrypt"), fromBase64(data));
  return JSON.parse(new TextDecoder().decode(opened));
}
