import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { JsonSchema } from "../fuzz/json-schema";
import { arbitraryFor } from "../fuzz/schema-arbitrary";

/**
 * The JSON Schema → fast-check converter of the OpenAPI fuzzer (test/fuzz/). zod is the engine's source of
 * truth for its documents, so the converter is checked against it: a zod schema is turned into JSON Schema
 * the way the engine does it (z.toJSONSchema), values are generated from that, and zod must accept them.
 */

const toJsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;

function acceptsEverything(schema: z.ZodType, options: { maxDepth?: number } = {}) {
  const json = toJsonSchema(schema);
  const problems: string[] = [];
  fc.assert(
    fc.property(arbitraryFor(json, { root: json, problems, ...options }), (value) => {
      const parsed = schema.safeParse(value);
      expect(parsed.success, `${JSON.stringify(value)} → ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    }),
    { numRuns: 300 },
  );
  expect(problems).toEqual([]);
}

describe("arbitraryFor", () => {
  it("generates only values zod accepts: strings, numbers, enums, literals, nullables", () => {
    acceptsEverything(
      z.object({
        name: z.string().min(2).max(8),
        code: z.string().regex(/^[A-Z][A-Z0-9_]{0,5}$/),
        count: z.int().min(-3).max(40),
        ratio: z.number().gt(0).lt(1),
        shape: z.enum(["chain", "fanout"]),
        kind: z.literal("selftest"),
        note: z.string().nullable(),
        flag: z.boolean().optional(),
      }),
    );
  });

  it("keeps required keys, drops optional ones at will, and adds no key to a strict object", () => {
    const schema = z.strictObject({ a: z.string(), b: z.int().optional(), c: z.array(z.string()).min(1).max(3) });
    acceptsEverything(schema);
    const json = toJsonSchema(schema);
    const values = fc.sample(arbitraryFor(json, { root: json }), { numRuns: 200, seed: 1 }) as Record<string, unknown>[];
    expect(values.every((value) => "a" in value && "c" in value)).toBe(true);
    expect(values.some((value) => "b" in value)).toBe(true);
    expect(values.some((value) => !("b" in value))).toBe(true);
  });

  it("follows unions (anyOf, oneOf told apart by an enum field) and records with additionalProperties", () => {
    acceptsEverything(
      z.object({
        location: z.discriminatedUnion("driver", [
          z.object({ driver: z.literal("r2"), binding: z.string().regex(/^[A-Z]+$/) }),
          z.object({ driver: z.literal("s3"), bucket: z.string().min(3).max(10), region: z.string().default("us-east-1") }),
        ]),
        setting: z.union([z.string().max(5), z.number()]),
        headers: z.record(z.string(), z.string().max(10)),
      }),
    );
  });

  it("ends recursive $refs (z.json) within maxDepth", () => {
    const schema = z.object({ custom_data: z.json() });
    acceptsEverything(schema, { maxDepth: 3 });
    const json = toJsonSchema(schema);
    const depth = (value: unknown): number => (typeof value === "object" && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depth)) : 0);
    for (const value of fc.sample(arbitraryFor(json, { root: json, maxDepth: 3 }), { numRuns: 200, seed: 2 })) expect(depth(value)).toBeLessThanOrEqual(4);
  });

  it("resolves $refs into a document (OpenAPI components)", () => {
    const doc = {
      components: { schemas: { Task: { type: "object", properties: { name: { $ref: "#/components/schemas/Name" } }, required: ["name"] }, Name: { type: "string", enum: ["a", "b"] } } },
    };
    const values = fc.sample(arbitraryFor({ $ref: "#/components/schemas/Task" }, { root: doc }), { numRuns: 50, seed: 3 });
    expect(new Set(values.map((value) => (value as { name: string }).name))).toEqual(new Set(["a", "b"]));
  });

  it("reports a pattern that none of its generated strings match", () => {
    const problems: string[] = [];
    // What a zod regex with the i flag looked like in /openapi.json: `$` followed by `/i`.
    arbitraryFor({ type: "object", properties: { name: { type: "string", pattern: "^[a-z0-9][a-z0-9._-]{0,62}$/i" } } }, { root: {}, problems });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^name: pattern .* matched 0 of 20/);
  });

  it("lets overrides replace the arbitrary of a field by its path", () => {
    const schema: JsonSchema = { type: "object", properties: { job: { type: "object", properties: { run_at: { type: "string" } }, required: ["run_at"] } }, required: ["job"] };
    const values = fc.sample(arbitraryFor(schema, { root: {}, override: (path) => (path.join(".") === "job.run_at" ? fc.constant("2099-01-01T00:00:00Z") : undefined) }), { numRuns: 20, seed: 4 });
    expect(values.every((value) => (value as { job: { run_at: string } }).job.run_at === "2099-01-01T00:00:00Z")).toBe(true);
  });
});
