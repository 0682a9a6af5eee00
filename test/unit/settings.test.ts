import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, isSettingName, parseSetting, resolveSettings, settingNames } from "../../src/domain/settings";

describe("settings", () => {
  it("defaults follow the spec: retry 3 × 5 s, callback schedule of about 27 h", () => {
    expect(DEFAULT_SETTINGS).toMatchObject({ max_jobs: 2, retry_limit: 3, retry_delay: 5 });
    expect(DEFAULT_SETTINGS.callback_retry_schedule).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    const hours = DEFAULT_SETTINGS.callback_retry_schedule.reduce((a, b) => a + b, 0) / 3600;
    expect(hours).toBeGreaterThan(27);
    expect(hours).toBeLessThan(28);
  });

  it("names every setting and nothing else", () => {
    expect(settingNames().sort()).toEqual(Object.keys(DEFAULT_SETTINGS).sort());
    expect(isSettingName("retry_limit")).toBe(true);
    for (const name of ["toString", "__proto__", "constructor", "RETRY_LIMIT", ""]) expect(isSettingName(name)).toBe(false);
  });

  it("whole-number settings accept integers within range, with surrounding spaces", () => {
    expect(parseSetting("max_jobs", "4")).toEqual({ value: 4 });
    expect(parseSetting("max_jobs", " 1000 ")).toEqual({ value: 1000 });
    expect(parseSetting("retry_limit", "0")).toEqual({ value: 0 });
    expect(parseSetting("priority_threshold", "10")).toEqual({ value: 10 });
  });

  it("whole-number settings refuse fractions, words, empties and out-of-range values with a sentence", () => {
    expect(parseSetting("max_jobs", "0")).toEqual({ error: "max_jobs must be a whole number from 1 to 1000" });
    for (const text of ["1001", "2.5", "abc", "", " ", "1e2", "0x10", "-1"]) {
      expect(parseSetting("max_jobs", text)).toHaveProperty("error");
    }
    expect(parseSetting("retry_limit", "21")).toEqual({ error: "retry_limit must be a whole number from 0 to 20" });
    expect(parseSetting("priority_threshold", "11")).toHaveProperty("error");
  });

  it("retry_delay takes seconds, fractions included, from 0 to 3600", () => {
    expect(parseSetting("retry_delay", "2.5")).toEqual({ value: 2.5 });
    expect(parseSetting("retry_delay", "0")).toEqual({ value: 0 });
    expect(parseSetting("retry_delay", "3600")).toEqual({ value: 3600 });
    expect(parseSetting("retry_delay", "-1")).toEqual({ error: "retry_delay must be a number of seconds from 0 to 3600" });
    for (const text of ["3601", "", "  ", "soon", "Infinity", "NaN"]) expect(parseSetting("retry_delay", text)).toHaveProperty("error");
  });

  it("callback_retry_schedule is a comma-separated list of up to 20 delays of at most a day", () => {
    expect(parseSetting("callback_retry_schedule", "5, 300 ,1800")).toEqual({ value: [5, 300, 1800] });
    expect(parseSetting("callback_retry_schedule", "0")).toEqual({ value: [0] });
    expect(parseSetting("callback_retry_schedule", Array(20).fill("1").join(","))).toHaveProperty("value");
    for (const text of ["", "5,,10", "5,", "5,x", "-1", "86401", Array(21).fill("1").join(",")]) {
      expect(parseSetting("callback_retry_schedule", text)).toEqual({
        error: "callback_retry_schedule must be a comma-separated list of at most 20 delays in seconds (0 to 86400 each)",
      });
    }
  });

  it("resolves stored settings over the defaults, ignoring unknown names and values that no longer parse", () => {
    const settings = resolveSettings([
      { name: "max_jobs", value: "7" },
      { name: "retry_limit", value: "not a number" },
      { name: "callback_retry_schedule", value: "1,2" },
      { name: "no_such_setting", value: "1" },
      { name: "__proto__", value: "1" },
    ]);
    expect(settings).toEqual({ ...DEFAULT_SETTINGS, max_jobs: 7, callback_retry_schedule: [1, 2] });
    expect(DEFAULT_SETTINGS.max_jobs).toBe(2);
    expect(resolveSettings([])).toEqual(DEFAULT_SETTINGS);
    expect(resolveSettings([])).not.toBe(DEFAULT_SETTINGS);
  });
});
