/** Parameter names whose values are secrets: masked in the job object and the job log. */
const SECRET_NAME =
  /(^key$|content_key|playready_key|private_key|access_key|signing_key|secret|password|passwd|token|api[_-]?key|authorization|credential|^sas$|sas_token|whsec)/i;

export const MASK = "********";

/** A deep copy of `value` with the values of secret-looking keys replaced by a mask. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, SECRET_NAME.test(key) ? MASK : maskSecrets(inner)]),
  );
}
