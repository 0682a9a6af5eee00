import { describe, expect, it } from "vitest";
import { graphProblem, initialJobState, nextTaskDeadline } from "../../src/domain/job-graph";
import { chain, plan } from "./support";

const g = (spec: Record<string, string[]>) => Object.entries(spec).map(([name, needs]) => ({ name, needs }));

describe("graphProblem", () => {
  it("accepts chains, fan-outs, diamonds and graphs listed out of order", () => {
    expect(graphProblem([])).toBeNull();
    expect(graphProblem(g({ a: [], b: ["a"], c: ["b"] }))).toBeNull();
    expect(graphProblem(g({ a: [], b: [], c: [] }))).toBeNull();
    expect(graphProblem(g({ d: ["b", "c"], b: ["a"], c: ["a"], a: [] }))).toBeNull();
  });

  it("refuses a name defined twice", () => {
    expect(graphProblem(g({ a: [] }).concat(g({ a: [] })))).toBe("task 'a' is defined twice");
  });

  it("refuses a need that names no task", () => {
    expect(graphProblem(g({ a: [], b: ["a", "ghost"] }))).toBe("task 'b' needs unknown task 'ghost'");
  });

  it("refuses cycles, naming the tasks caught in them", () => {
    expect(graphProblem(g({ a: ["a"] }))).toBe("tasks a form a cycle");
    expect(graphProblem(g({ a: ["b"], b: ["a"] }))).toBe("tasks a, b form a cycle");
    const problem = graphProblem(g({ start: [], x: ["start", "z"], y: ["x"], z: ["y"], after: ["z"], free: [] }));
    expect(problem).toMatch(/form a cycle$/);
    expect(problem).toContain("x");
    expect(problem).not.toContain("start");
    expect(problem).not.toContain("free");
  });
});

describe("initialJobState", () => {
  it("lays out the plan: tasks pending or skipped, attempt 0, sequence and version at their start", () => {
    const state = initialJobState(plan([{ name: "a" }, { name: "b", needs: ["a"], skip: true }]));
    expect(state).toMatchObject({ outcome: "running", paused: false, order: ["a", "b"], nextSequence: 1, version: 0, endedAt: null });
    expect(state.tasks.a).toMatchObject({ status: "pending", attempt: 0, deadline: null, id: "id_a", executor: "selftest.wait" });
    expect(state.tasks.b!.status).toBe("skipped");
    expect(nextTaskDeadline(state)).toBeNull();
  });

  it("refuses an invalid graph", () => {
    expect(() => initialJobState(plan([{ name: "a", needs: ["b"] }, { name: "b", needs: ["a"] }]))).toThrow(
      "invalid task graph: tasks a, b form a cycle",
    );
  });

  it("nextTaskDeadline is the earliest task deadline while the job runs", () => {
    const state = initialJobState(plan(chain(3)));
    state.tasks.t2 = { ...state.tasks.t2!, deadline: 500 };
    state.tasks.t3 = { ...state.tasks.t3!, deadline: 200 };
    expect(nextTaskDeadline(state)).toBe(200);
    expect(nextTaskDeadline({ ...state, outcome: "failed" })).toBeNull();
  });
});
