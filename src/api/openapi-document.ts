/**
 * What /openapi.json adds to the document the route definitions generate, so that other tools can use it
 * (linted with Redocly's recommended rules in test/unit/openapi-lint.test.ts): an `operationId` for every
 * operation, derived from its method and path (`GET /jobs/{id}/callbacks` → `getJobsByIdCallbacks`), and the
 * server that served it.
 */

type Operations = Record<string, Record<string, { operationId?: string } & Record<string, unknown>>>;

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

const pascal = (word: string) => word.split(/[^A-Za-z0-9]+/).filter(Boolean).map((part) => part[0]!.toUpperCase() + part.slice(1)).join("");

/** `getJobsByIdCallbacks` for `GET /jobs/{id}/callbacks`; `getRoot` for `GET /`. */
export function operationIdOf(method: string, path: string): string {
  const words = path
    .split("/")
    .filter(Boolean)
    .map((segment) => (segment.startsWith("{") ? `By${pascal(segment.slice(1, -1))}` : pascal(segment)));
  return `${method.toLowerCase()}${words.length > 0 ? words.join("") : "Root"}`;
}

export function finishDocument<D extends { paths?: unknown }>(document: D, origin: string): D & { servers: { url: string }[] } {
  const paths = (document.paths ?? {}) as Operations;
  const seen = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      operation.operationId ??= operationIdOf(method, path);
      if (seen.has(operation.operationId)) throw new Error(`two operations are ${operation.operationId}`);
      seen.add(operation.operationId);
    }
  }
  return { ...document, servers: [{ url: origin, description: "the engine that served this document" }] };
}
