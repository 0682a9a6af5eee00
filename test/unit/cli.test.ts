import { describe, expect, it } from "vitest";
import { bar, parameterPairs } from "../../client/cli.ts";

describe("the task-engine CLI's arguments and output", () => {
  it("reads key=value parameters, as JSON when they are JSON", () => {
    expect(parameterPairs(["tasks=3", "shape=chain", 'drm=["clear"]', "content_id=007", "note=a=b"])).toStrictEqual({ tasks: 3, shape: "chain", drm: ["clear"], content_id: "007", note: "a=b" });
    expect(() => parameterPairs(["tasks"])).toThrow(/not key=value/);
  });

  it("draws progress bars", () => {
    expect(bar(0, 10)).toBe("[░░░░░░░░░░]   0%");
    expect(bar(55, 10)).toBe("[██████░░░░]  55%");
    expect(bar(140, 4)).toBe("[████] 100%");
  });
});
