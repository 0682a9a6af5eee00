import { describe, expect, it } from "vitest";
import { call } from "./helpers";

describe("GET /openapi.json", () => {
  it("serves an OpenAPI 3.1 document listing the job routes, without auth", async () => {
    const response = await call("/openapi.json");
    expect(response.status).toBe(200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/job", "/jobs", "/jobs/{id}", "/logs/{id}", "/settings"]));
  });
});
