import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { graphProblem } from "../../src/domain/job-graph";
import { selftest, SelftestParameters, type SelftestInput } from "../../src/workflows/selftest";

const parse = (input: unknown) => SelftestParameters.safeParse(input);
const issuePaths = (input: unknown): string[] => {
  const result = parse(input);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join("."));
};

describe("selftest parameters", () => {
  it("fill their defaults", () => {
    expect(SelftestParameters.parse({ content_id: "demo1" })).toEqual({
      content_id: "demo1",
      tasks: 3,
      shape: "chain",
      task_ms: 0,
      fail_task: null,
      fail_times: 1,
      rest_endpoints: [],
    });
  });

  it("keep unknown keys and echo custom_data", () => {
    const parsed = SelftestParameters.parse({ content_id: "x", custom_data: { ref: [1, { a: null }] }, extra: "kept" });
    expect(parsed).toMatchObject({ custom_data: { ref: [1, { a: null }] }, extra: "kept" });
  });

  it("require a non-empty content_id, kept exactly as sent: spaces around it are refused, not trimmed", () => {
    expect(issuePaths({})).toEqual(["content_id"]);
    expect(issuePaths({ content_id: "   " })).toEqual(["content_id"]);
    expect(issuePaths({ content_id: "  demo1 " })).toEqual(["content_id"]);
    expect(SelftestParameters.parse({ content_id: "demo 1" }).content_id).toBe("demo 1");
  });

  it.each([
    ["tasks", 0],
    ["tasks", 1001],
    ["tasks", 2.5],
    ["tasks", "3"],
    ["task_ms", -1],
    ["task_ms", 60_001],
    ["fail_times", -1],
    ["fail_times", 101],
    ["shape", "star"],
    ["fail_task", 7],
  ])("refuse %s = %j", (key, value) => {
    expect(issuePaths({ content_id: "x", [key]: value })).toEqual([key]);
  });

  it("accept the edges of each range", () => {
    for (const patch of [{ tasks: 1 }, { tasks: 1000 }, { task_ms: 60_000 }, { fail_times: 0 }, { fail_times: 100 }, { shape: "fanout" }]) {
      expect(parse({ content_id: "x", ...patch }).success).toBe(true);
    }
  });

  it("fail_task must name one of task_1 … task_N", () => {
    expect(parse({ content_id: "x", tasks: 3, fail_task: "task_3" }).success).toBe(true);
    expect(parse({ content_id: "x", fail_task: null }).success).toBe(true);
    for (const name of ["task_4", "task_0", "task_01", "TASK_1", "task_1 ", "task_", "t1", ""]) {
      const result = parse({ content_id: "x", tasks: 3, fail_task: name });
      expect(result.success, name).toBe(false);
      expect(result.error!.issues).toEqual([
        expect.objectContaining({ path: ["fail_task"], message: "fail_task must name one of the job's tasks (task_1 … task_N)" }),
      ]);
    }
  });

  it("refuse more than 10 rest_endpoints", () => {
    expect(issuePaths({ content_id: "x", rest_endpoints: Array(11).fill("https://example.com/") })).toEqual(["rest_endpoints"]);
  });
});

describe("selftest graph", () => {
  it("chain: each task needs the one before; the fail task gets fail_times, the others 0", () => {
    const params = SelftestParameters.parse({ content_id: "x", tasks: 3, task_ms: 250, fail_task: "task_2", fail_times: 2 });
    const tasks = selftest.tasks(params);
    expect(tasks.map((t) => [t.name, t.needs, t.executor, t.timeoutMs])).toEqual([
      ["task_1", [], "selftest.wait", 10_250],
      ["task_2", ["task_1"], "selftest.wait", 10_250],
      ["task_3", ["task_2"], "selftest.wait", 10_250],
    ]);
    const inputs = tasks.map((t) => t.input!(params, {}) as SelftestInput);
    expect(inputs).toEqual([
      { task_ms: 250, fail_times: 0 },
      { task_ms: 250, fail_times: 2 },
      { task_ms: 250, fail_times: 0 },
    ]);
    expect(selftest.result(params, {})).toEqual({ message: "3 tasks completed (chain)" });
  });

  it("fanout: no task needs another", () => {
    const params = SelftestParameters.parse({ content_id: "x", tasks: 4, shape: "fanout" });
    expect(selftest.tasks(params).map((t) => t.needs)).toEqual([[], [], [], []]);
    expect(selftest.result(params, {})).toEqual({ message: "4 tasks completed (fanout)" });
  });

  it("property: any valid input parses and yields a valid graph of N tasks", () => {
    const keys = ["tasks", "shape", "task_ms", "fail_times", "custom_data"] as const;
    const valid = fc
      .record({
        content_id: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && s.length > 0),
        tasks: fc.integer({ min: 1, max: 1000 }),
        shape: fc.constantFrom("chain", "fanout"),
        task_ms: fc.integer({ min: 0, max: 60_000 }),
        fail_times: fc.integer({ min: 0, max: 100 }),
        custom_data: fc.jsonValue(),
        fail_index: fc.option(fc.nat(), { nil: null }),
        dropped: fc.subarray([...keys]),
      })
      .map(({ fail_index, dropped, ...rest }) => {
        // Optional keys may be left out; fail_task must then name one of the default 3 tasks.
        const submitted: Record<string, unknown> = { ...rest };
        for (const key of dropped) delete submitted[key];
        const count = dropped.includes("tasks") ? 3 : rest.tasks;
        submitted.fail_task = fail_index === null ? null : `task_${(fail_index % count) + 1}`;
        return submitted;
      });
    fc.assert(
      fc.property(valid, (submitted) => {
        const result = parse(submitted);
        expect(result.success).toBe(true);
        const params = result.data!;
        const tasks = selftest.tasks(params);
        expect(tasks).toHaveLength(params.tasks);
        expect(graphProblem(tasks.map((t) => ({ name: t.name, needs: t.needs ?? [] })))).toBeNull();
        const failing = tasks.filter((t) => (t.input!(params, {}) as SelftestInput).fail_times > 0).map((t) => t.name);
        expect(failing).toEqual(params.fail_task !== null && params.fail_times > 0 ? [params.fail_task] : []);
      }),
      { numRuns: 200 },
    );
  });
});
