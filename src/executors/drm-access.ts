import { parseClientConfig } from "../domain/client-config";
import { NonRetryableError } from "../domain/errors";
import { sealFor } from "../domain/key-seal";
import type { DrmAccess } from "./executor";
import { NO_SECRET } from "./get-drm-keys";

/**
 * The platform side of `DrmAccess`: the key provider from the client's configuration, and sealing under the
 * deployment's `DRM_KEY_SECRET`. Without that secret no key is fetched: the attempt fails with what to set.
 */
export function drmAccess(configText: (client: string) => Promise<string | null>, secret: string | undefined, allowPrivateUrls: boolean) {
  return (client: string, jobId: string): DrmAccess => ({
    provider: async () => parseClientConfig(await configText(client)).drm ?? null,
    canSeal: Boolean(secret),
    seal: async (value) => {
      if (!secret) throw new NonRetryableError(NO_SECRET);
      return sealFor(jobId, value, secret);
    },
    allowPrivateUrls,
    fetch: (input, init) => fetch(input, init),
  });
}
