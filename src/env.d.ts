// Secrets and optional vars that `wrangler types` cannot see in wrangler.toml (set with `wrangler secret put`
// or in .dev.vars locally). Merged into the generated `Env`.
interface Env {
  /** Bearer token of the operator API (/admin). Unset: the operator API refuses every request. */
  ADMIN_TOKEN?: string;
  /** "true" accepts callback and semaphore URLs on localhost and private networks: development only. */
  ALLOW_PRIVATE_CALLBACKS?: string;
  /** Seals DRM keys between get_drm_keys and the worker's lease (domain/key-seal.ts). Unset: no protected packages. */
  DRM_KEY_SECRET?: string;
  LEASE_GRACE_MS?: string;
  /** Development only: a tasks batch hands attempts still running after this many ms to waitUntil (src/config.ts). */
  TASK_BATCH_BUDGET_MS?: string;
  CALLBACK_TIMEOUT_MS?: string;
  WORKER_LEASE_MS?: string;
  POOL_OFFER_LEASE_MS?: string;
}
