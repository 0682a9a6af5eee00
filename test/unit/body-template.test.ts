import { describe, expect, it } from "vitest";
import { applyTemplate } from "../../src/domain/body-template";

const fields = {
  job_id: "01J",
  status: "completed",
  sequence: 7,
  custom_data: { ref: "r-1", nested: { count: 3 }, tags: ["a", "b"] },
  message: "demo1",
};

describe("callback body templates", () => {
  it("replace a whole-string placeholder by the field's JSON value, keeping its type", () => {
    expect(applyTemplate({ seq: "{{sequence}}", data: "{{custom_data}}", tags: "{{custom_data.tags}}" }, fields)).toEqual({
      seq: 7,
      data: fields.custom_data,
      tags: ["a", "b"],
    });
  });

  it("reach into custom_data with dotted paths and fill placeholders inside text", () => {
    expect(applyTemplate({ text: "job {{job_id}} is {{status}} ({{custom_data.nested.count}})" }, fields)).toEqual({
      text: "job 01J is completed (3)",
    });
  });

  it("give null for a missing whole-string field and nothing inside text", () => {
    expect(applyTemplate({ a: "{{nope}}", b: "x{{custom_data.missing}}y", c: "{{custom_data.ref.deeper}}" }, fields)).toEqual({
      a: null,
      b: "xy",
      c: null,
    });
  });

  it("walk arrays and keep non-string values as they are", () => {
    expect(applyTemplate(["{{status}}", 1, true, null, { k: ["{{message}}"] }], fields)).toEqual(["completed", 1, true, null, { k: ["demo1"] }]);
  });

  it("do not resolve inherited properties", () => {
    expect(applyTemplate("{{constructor}}", fields)).toBeNull();
    expect(applyTemplate("{{custom_data.__proto__}}", fields)).toBeNull();
  });
});
