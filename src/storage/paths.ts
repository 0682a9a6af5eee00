import { NonRetryableError } from "../domain/errors";

/**
 * Path safety for storage keys (workflows.md, Storage): a path in parameters or configuration is a
 * relative key below a root and never escapes it. Checked at submission (400) and again in every driver.
 */

/** Object stores accept keys up to 1024 bytes (S3, R2); Azure allows more, we keep the smaller limit. */
const MAX_KEY_BYTES = 1024;
// C0 controls, DEL and C1 controls: invisible, and some stores or proxies mangle them.
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `path` is not a safe relative key (`a/b/c`), or null when it is. */
export function pathProblem(path: string): string | null {
  if (path.length === 0) return "must not be empty";
  if (new TextEncoder().encode(path).length > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes`;
  if (CONTROL.test(path)) return "must not contain control characters";
  // A lone surrogate has no UTF-8 form: the stored key would silently differ from the one asked for.
  if (!path.isWellFormed()) return "must be valid Unicode (it contains a lone surrogate)";
  if (path.includes("\\")) return "must not contain backslashes";
  if (path.startsWith("/")) return "must be relative (no leading '/')";
  for (const segment of path.split("/")) {
    if (segment === "") return "must not contain empty segments ('//' or a trailing '/')";
    if (segment === "." || segment === "..") return "must not contain '.' or '..' segments";
  }
  return null;
}

/**
 * Why `name` is not one safe file name (a single path segment such as `demo1_drm_x.ism`), or null. Values
 * that become part of a file name (a `content_id` in a manifest name) are checked with this: a '/' would
 * put the file in a subfolder, '..' above its folder.
 */
export function fileNameProblem(name: string): string | null {
  if (name.includes("/")) return "must be one file name (no '/')";
  return pathProblem(name);
}

/** Like pathProblem, for a listing prefix: one trailing '/' is allowed, and it must not be empty. */
export function prefixProblem(prefix: string): string | null {
  return pathProblem(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix);
}

/** Thrown by drivers for a key that fails the checks: a bug or an attack, never worth a retry. */
export class UnsafePathError extends NonRetryableError {
  override name = "UnsafePathError";
}

export function assertSafeKey(key: string): string {
  const problem = pathProblem(key);
  if (problem) throw new UnsafePathError(`unsafe storage key ${JSON.stringify(key.slice(0, 200))}: ${problem}`);
  return key;
}

export function assertSafePrefix(prefix: string): string {
  const problem = prefixProblem(prefix);
  if (problem) throw new UnsafePathError(`unsafe storage prefix ${JSON.stringify(prefix.slice(0, 200))}: ${problem}`);
  return prefix;
}

/** Joins a root (may be "") and relative paths into one key. */
export function joinKey(...parts: string[]): string {
  return parts.filter((part) => part !== "").join("/");
}

/** A key percent-encoded segment by segment for a URL path (RFC 3986 unreserved characters kept). */
export function encodeKeyForUrl(key: string): string {
  return key
    .split("/")
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join("/");
}
