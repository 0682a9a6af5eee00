import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { JsonSchema } from "../fuzz/json-schema";
import { arbitraryFor } from "../fuzz/schema-arbitrary";
import { schemaMisfit } from "../fuzz/schema-check";
import { mutationSites, siteMutations } from "../fuzz/value-mutations";

/** The OpenAPI fuzzer's check of 2xx bodies against the document: it agrees with zod, both ways. */

const schema = z.object({
  id: z.string(),
  queue_state: z.enum(["queued", "started"]),
  position: z.number().nullable(),
  tasks: z.array(z.strictObject({ task_name: z.string().min(1), attempts: z.int().min(0).max(9) })).max(3).optional(),
  result: z.record(z.string(), z.unknown()).nullable(),
  kind: z.union([z.literal("a"), z.object({ b: z.boolean() })]),
});
const json = z.toJSONSchema(schema, { io: "input" }) as JsonSchema;

describe("schemaMisfit", () => {
  it("finds no misfit in what zod accepts, and one in every mutation zod refuses", () => {
    fc.assert(
      fc.property(arbitraryFor(json, { root: json }), (value) => {
        expect(schemaMisfit(value, json, json)).toBeNull();
        for (const site of mutationSites(json, value, json)) {
          for (const mutation of siteMutations(value, site, json)) {
            if (mutation.description.includes("nested")) continue;
            const zodRefuses = !schema.safeParse(mutation.value).success;
            expect(schemaMisfit(mutation.value, json, json) !== null, `${mutation.description}: ${JSON.stringify(mutation.value).slice(0, 200)}`).toBe(zodRefuses);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("names where a body misfits", () => {
    const value = { id: "j", queue_state: "queued", position: null, tasks: [{ task_name: "t", attempts: 99 }], result: null, kind: "a" };
    expect(schemaMisfit(value, json, json)).toBe("tasks[0].attempts: above 9");
    expect(schemaMisfit({ ...value, tasks: [], kind: { b: "no" } }, json, json)).toBe("kind: fits none of 2 alternatives");
    expect(schemaMisfit({ result: "alive" }, json, json)).toBe("(body): required id missing");
  });
});
