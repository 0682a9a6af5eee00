import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app";

/**
 * /openapi.json against the OpenAPI 3.1 JSON Schema (@seriousme/openapi-schema-validator: Ajv compiles
 * schemas with `new Function`, which workerd forbids, so this runs in Node on the app itself), and against
 * the app's own routing table: every route the app answers is documented, and nothing else is.
 */

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
/**
 * The document and its viewer: served by the app, but not operations of the API they describe; and the file
 * listing's trailing-slash form, the same call as the documented one.
 */
const UNDOCUMENTED = new Set(["GET /openapi.json", "GET /docs", "GET /docs/{path}", "GET /ui", "GET /ui/{path}", "GET /workers/leases/{lease_id}/files/{ref}/"]);

interface Operation {
  parameters?: { name: string; in: string; required?: boolean }[];
  responses?: Record<string, unknown>;
}
type Document = { openapi: string; info: { version: string }; paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>> };

const app = createApp();
let doc: Document;

beforeAll(async () => {
  const response = await app.request("/openapi.json", {}, { ENGINE_VERSION: "9.8.7" });
  expect(response.status).toBe(200);
  doc = (await response.json()) as Document;
});

/** "METHOD /path/{param}" for every handler the app routes to (middleware registers as ALL and is left out). */
function routedOperations(): Set<string> {
  return new Set(
    app.routes
      .filter((route) => route.method !== "ALL")
      // A trailing wildcard (a file path that spans segments) is documented as `{path}`.
      .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}").replace(/\/\*$/, "/{path}")}`)
      .filter((operation) => !UNDOCUMENTED.has(operation)),
  );
}

function documentedOperations(): Set<string> {
  return new Set(
    Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method] !== undefined).map((method) => `${method.toUpperCase()} ${path}`),
    ),
  );
}

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe("9.8.7");
  });

  it("documents every route of the app, and no route the app does not have", () => {
    const routed = routedOperations();
    // The routing table is read, not assumed: the API's main routes must be among what it found.
    expect([...routed]).toEqual(expect.arrayContaining(["POST /job", "GET /jobs", "GET /jobs/{id}", "PATCH /jobs/{id}", "DELETE /admin/clients/{name}/keys/{key_id}"]));
    expect([...documentedOperations()].sort()).toEqual([...routed].sort());
  });

  it("declares every path parameter of every operation, and gives every operation responses", () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const declared = (operation.parameters ?? []).filter((parameter) => parameter.in === "path");
        expect(declared.map((parameter) => parameter.name).sort(), `${method} ${path}`).toEqual([...names].sort());
        for (const parameter of declared) expect(parameter.required, `${method} ${path} ${parameter.name}`).toBe(true);
        expect(Object.keys(operation.responses ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
      }
    }
  });

  it("publishes patterns that mean what the API checks: plain regular expressions its own examples match", () => {
    const patterns: { where: string; pattern: string; example?: unknown }[] = [];
    const visit = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((item, index) => visit(item, `${where}[${index}]`));
      if (node === null || typeof node !== "object") return;
      const schema = node as Record<string, unknown>;
      if (typeof schema.pattern === "string") patterns.push({ where, pattern: schema.pattern, example: schema.example });
      for (const [key, value] of Object.entries(schema)) visit(value, `${where}.${key}`);
    };
    visit(doc, "");
    expect(patterns.length).toBeGreaterThan(0);
    for (const { where, pattern, example } of patterns) {
      // A flag of the zod regex (such as /i) does not survive into the document: such a pattern matches nothing.
      expect(pattern, where).not.toMatch(/^\/.*\/[a-z]*$/);
      expect(() => new RegExp(pattern, "u"), where).not.toThrow();
      if (typeof example === "string") expect(example, where).toMatch(new RegExp(pattern, "u"));
    }
  });

  it("lists the errors each operation can answer: 401 and 429 behind auth, 413 and 415 where a body is read, 404 for a job or workflow id", () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const statuses = Object.keys(operation.responses ?? {});
        const label = `${method.toUpperCase()} ${path}`;
        if (path !== "/") expect(statuses, label).toEqual(expect.arrayContaining(["400", "401", "429"]));
        // A worker's file upload takes a stream of any type: it can be too large (413), never of the wrong type.
        const upload = method === "put" && path.startsWith("/workers/leases/");
        if (["post", "put", "patch"].includes(method)) expect(statuses, label).toEqual(expect.arrayContaining(upload ? ["413"] : ["413", "415"]));
        if (/\{(id|name)\}/.test(path)) expect(statuses, label).toContain("404");
      }
    }
  });

  it("declares how callers authenticate: both client headers on client routes, the bearer token on operator routes, nothing on GET /", () => {
    const full = doc as unknown as { security: unknown; components: { securitySchemes: Record<string, unknown> }; paths: Record<string, Record<string, { security?: unknown }>> };
    expect(full.components.securitySchemes).toMatchObject({
      clientName: { type: "apiKey", in: "header", name: "client" },
      apiKey: { type: "apiKey", in: "header", name: "api-key" },
      adminBearer: { type: "http", scheme: "bearer" },
    });
    expect(full.security).toStrictEqual([{ clientName: [], apiKey: [] }]);
    expect(full.paths["/"]!.get!.security).toStrictEqual([]);
    expect(full.paths["/admin/clients"]!.post!.security).toStrictEqual([{ adminBearer: [] }]);
    expect(full.components.securitySchemes).toMatchObject({ workerBearer: { type: "http", scheme: "bearer" } });
    for (const [path, item] of Object.entries(full.paths)) {
      if (!path.startsWith("/workers/")) continue;
      for (const operation of Object.values(item)) expect(operation.security, path).toStrictEqual([{ workerBearer: [] }]);
    }
  });
});
