import { deref, type JsonSchema } from "./json-schema.ts";

/** The operations of an OpenAPI 3.1 document, as the fuzzer uses them. */

export const HTTP_METHODS = ["get", "put", "post", "delete", "patch"] as const;

export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  /** "POST /jobs/{id}/rerun": the document's method and path. */
  key: string;
  method: string;
  /** The path template, e.g. `/jobs/{id}`. */
  path: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  headerParams: Parameter[];
  body?: { schema: JsonSchema; required: boolean };
  /**
   * "admin": the operation declares the adminBearer security scheme; "client": it documents a 401 (client
   * headers; the document has no scheme for them); "none": neither.
   */
  auth: "none" | "client" | "admin";
  /** The documented response statuses. */
  statuses: number[];
  /** The documented JSON body of each response status. */
  responseSchemas: Map<number, JsonSchema>;
}

interface RawOperation {
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { content?: Record<string, { schema?: JsonSchema }> }>;
  security?: Record<string, unknown>[];
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], RawOperation>>>;
  components?: Record<string, unknown>;
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const raw = item[method];
      if (!raw) continue;
      const parameters = (raw.parameters ?? []).map((parameter): Parameter => ({
        name: parameter.name,
        in: parameter.in as Parameter["in"],
        required: parameter.required === true,
        schema: parameter.schema ? deref(parameter.schema, doc) : true,
      }));
      const json = raw.requestBody?.content?.["application/json"];
      const statuses = Object.keys(raw.responses ?? {}).map(Number);
      const admin = (raw.security ?? []).some((requirement) => "adminBearer" in requirement);
      operations.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((parameter) => parameter.in === "path"),
        queryParams: parameters.filter((parameter) => parameter.in === "query"),
        headerParams: parameters.filter((parameter) => parameter.in === "header"),
        body: json ? { schema: json.schema ?? true, required: raw.requestBody?.required === true } : undefined,
        auth: admin ? "admin" : statuses.includes(401) ? "client" : "none",
        statuses,
        responseSchemas: new Map(
          Object.entries(raw.responses ?? {}).flatMap(([status, response]) => {
            const schema = response.content?.["application/json"]?.schema;
            return schema === undefined ? [] : [[Number(status), schema] as const];
          }),
        ),
      });
    }
  }
  return operations;
}

/** Methods the document does not declare for a path (to send where the API has no route). */
export function undeclaredMethods(doc: OpenApiDocument, path: string): string[] {
  const item = doc.paths[path] ?? {};
  return [...HTTP_METHODS.filter((method) => item[method] === undefined).map((method) => method.toUpperCase()), "OPTIONS"];
}
