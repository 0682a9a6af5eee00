import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { JsonSchema } from "../fuzz/json-schema";
import { arbitraryFor } from "../fuzz/schema-arbitrary";
import { MAX_BODY_DEPTH, mutatedValue, mutationSites, nested, removeAt, replaceAt, siteMutations } from "../fuzz/value-mutations";

/** The mutator of the OpenAPI fuzzer: every mutation it calls schema-breaking is refused by the zod schema. */

const schema = z.strictObject({
  job: z.strictObject({
    workflow: z.string().min(1),
    priority: z.int().min(1).max(10).optional(),
    run_at: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$/).optional(),
    shape: z.enum(["chain", "fanout"]).optional(),
  }),
  parameters: z.strictObject({
    content_id: z.string().max(16),
    rest_endpoints: z.array(z.string().max(20)).max(2).optional(),
    drm: z.array(z.enum(["playready", "widevine"])).min(1).max(2),
  }),
  custom_data: z.json().optional(),
});
const json = z.toJSONSchema(schema, { io: "input" }) as JsonSchema;
const valid = arbitraryFor(json, { root: json });

/** Nesting of arrays and objects in a value. */
const depth = (value: unknown): number => (typeof value === "object" && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depth)) : 0);

describe("value mutations", () => {
  it("every schema-breaking mutation of a valid value is refused by the schema", () => {
    fc.assert(
      fc.property(valid, (value) => {
        expect(schema.safeParse(value).success).toBe(true);
        for (const site of mutationSites(json, value, json)) {
          for (const mutation of siteMutations(value, site, json)) {
            if (mutation.expect !== "refused") continue;
            // Nesting past the cap is refused by the API's depth check (json-body.ts), not by the schema.
            if (mutation.description.includes("nested")) expect(depth(mutation.value)).toBeGreaterThan(MAX_BODY_DEPTH);
            else expect(schema.safeParse(mutation.value).success, `${mutation.description}: ${JSON.stringify(mutation.value)}`).toBe(false);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it("finds the sites of nested objects and arrays, and the kinds of mutation each allows", () => {
    const value = { job: { workflow: "selftest", priority: 5 }, parameters: { content_id: "c1", drm: ["playready"] } };
    const sites = mutationSites(json, value, json).map((site) => site.path.join("."));
    expect(sites).toEqual(expect.arrayContaining(["", "job", "job.workflow", "job.priority", "parameters.content_id", "parameters.drm", "parameters.drm.0"]));
    const descriptions = mutationSites(json, value, json).flatMap((site) => siteMutations(value, site, json).map((mutation) => mutation.description));
    for (const expected of [
      "job.priority: above maximum 10",
      "job.priority: not an integer",
      "job.priority: integer as a numeric string",
      "job: required workflow missing",
      "job: unknown field on a strict object",
      "parameters.content_id: longer than maxLength 16",
      "parameters.drm: fewer than minItems 1",
      "parameters.drm: more than maxItems 2",
      "parameters.drm[0]: not one of the enum",
      "job.workflow: hostile string (traversal ../x)",
      "job.workflow: hostile string (lone high surrogate)",
    ]) {
      expect(descriptions).toContain(expected);
    }
  });

  it("counts a string that is no absolute URI as breaking `format: uri` (tab, CR/LF, leading space)", () => {
    const uriSchema: JsonSchema = { type: "object", properties: { semaphore_url: { type: "string", format: "uri" } } };
    const value = { semaphore_url: "https://cms.example/ok" };
    const site = mutationSites(uriSchema, value, {}).find((item) => item.path.join(".") === "semaphore_url")!;
    const byLabel = new Map(siteMutations(value, site, {}).map((mutation) => [mutation.description.replace(/^semaphore_url: /, ""), mutation.expect]));
    expect(byLabel.get("hostile string (tab in url), not a URI")).toBe("refused");
    expect(byLabel.get("hostile string (CRLF in url), not a URI")).toBe("refused");
    expect(byLabel.get("hostile string (leading space url), not a URI")).toBe("refused");
    expect(byLabel.get("hostile string (javascript url)")).toBe("either");
  });

  it("mutatedValue mixes schema-breaking mutations with hostile values", () => {
    const mutations = fc.sample(mutatedValue(json, valid, json), { numRuns: 300, seed: 5 });
    const refused = mutations.filter((mutation) => mutation.expect === "refused").length;
    expect(refused).toBeGreaterThan(150);
    expect(refused).toBeLessThan(300);
  });

  it("replaces and removes without touching the original", () => {
    const original = { a: { b: [1, 2, 3] }, c: "x" };
    const frozen = JSON.stringify(original);
    expect(replaceAt(original, ["a", "b", 1], "two")).toEqual({ a: { b: [1, "two", 3] }, c: "x" });
    expect(removeAt(original, ["a", "b"])).toEqual({ a: {}, c: "x" });
    expect(replaceAt(original, [], 7)).toBe(7);
    expect(JSON.stringify(original)).toBe(frozen);
  });

  it("makes __proto__ an own key, so it reaches the wire", () => {
    const value = { job: { workflow: "selftest" }, parameters: { content_id: "c", drm: ["widevine"] } };
    const site = mutationSites(json, value, json).find((item) => item.path.join(".") === "parameters")!;
    const proto = siteMutations(value, site, json).find((mutation) => mutation.description.endsWith("__proto__ key"))!;
    expect(JSON.stringify(proto.value)).toContain('"__proto__":{"polluted":true}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("nests arrays as deep as asked", () => {
    expect(depth(nested(MAX_BODY_DEPTH + 1))).toBe(MAX_BODY_DEPTH + 1);
  });
});
