import type { DrmAccess } from "../../src/executors/executor";

/** An executor context's DRM access for tests whose workflows fetch no keys: any use of it fails. */
export const NO_DRM: DrmAccess = {
  provider: async () => null,
  canSeal: false,
  seal: async () => {
    throw new Error("this test fetches no DRM keys");
  },
  allowPrivateUrls: false,
  fetch: () => Promise.reject(new Error("this test fetches no DRM keys")),
};
