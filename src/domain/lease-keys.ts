import { openFor } from "./key-seal";

/**
 * A remote task's input as its worker gets it: the `drm.sealed_keys` that get_drm_keys sealed (key-seal.ts)
 * replaced by the keys (`drm.keys`). Inputs without sealed keys are returned as they are.
 */
export async function openDrmKeys(jobId: string, input: unknown, secret: string | undefined): Promise<unknown> {
  const drm = (input as { drm?: unknown } | null)?.drm;
  if (drm === null || typeof drm !== "object" || typeof (drm as { sealed_keys?: unknown }).sealed_keys !== "string") return input;
  if (!secret) throw new Error("this deployment has no DRM_KEY_SECRET");
  const { sealed_keys, ...rest } = drm as { sealed_keys: string };
  return { ...(input as object), drm: { ...rest, keys: await openFor(jobId, sealed_keys, secret) } };
}
