import { describe, expect, it } from "vitest";
import { chain, dispatches, Run, script, T0 } from "./support";

describe("skipped tasks stand in for their own needs", () => {
  const graph = () => [{ name: "a" }, { name: "b", needs: ["a"], skip: true }, { name: "c", needs: ["b"] }];

  it("a task after a skipped one still waits for what the skipped one needed", () => {
    const run = new Run(graph());
    run.start();
    expect(dispatches(run.effects)).toEqual([{ task: "a", attempt: 1 }]);
    run.runToCompletion("a");
    expect(run.status("c")).toBe("dispatched");
  });

  it("a failure is passed through a skipped task to the tasks after it", () => {
    const run = new Run(graph().map((task) => ({ ...task, limit: 0 })));
    run.start();
    run.claim("a");
    run.fail("a");
    expect([run.status("b"), run.status("c")]).toEqual(["skipped", "cancelled"]);
    expect(run.state.outcome).toBe("failed");
  });
});

describe("admission and retry in place", () => {
  it("dispatches nothing before the job is admitted", () => {
    const run = new Run(chain(2));
    expect(run.send({ type: "tick" }, T0 + 100_000).applied).toBe(false);
    expect(run.state.admitted).toBe(false);
    run.start();
    expect(run.state.admitted).toBe(true);
    expect(run.start().applied).toBe(false);
  });

  it("restarts a failed job's failed and cancelled tasks, keeps completed ones, and counts retries afresh", () => {
    const run = new Run(chain(3, { limit: 1 }));
    run.start();
    run.runToCompletion("t1");
    run.claim("t2");
    run.fail("t2", "first run", true);
    run.tick(T0 + 60_000);
    run.claim("t2");
    run.fail("t2", "still broken", true);
    expect(run.state.outcome).toBe("failed");
    expect(run.status("t3")).toBe("cancelled");

    expect(run.send({ type: "restart" }).applied).toBe(true);
    expect(run.state.outcome).toBe("running");
    expect([run.status("t1"), run.status("t2"), run.status("t3")]).toEqual(["completed", "pending", "pending"]);
    expect(run.state.admitted).toBe(false);
    run.start();
    // Attempt numbers keep growing, so reports from the first run stay stale; the limit counts from the restart.
    expect(run.state.tasks.t2!.attempt).toBe(3);
    run.claim("t2");
    run.fail("t2", "third", true);
    expect(run.status("t2")).toBe("retrying");
    run.tick(T0 + 600_000);
    run.claim("t2");
    run.complete("t2");
    run.runToCompletion("t3");
    expect(run.state.outcome).toBe("completed");
    const sequences = run.notices().map((notice) => notice.sequence);
    expect(sequences).toEqual(sequences.map((_, index) => index + 1));
    expect(script(run.notices()).filter((line) => line.startsWith("job:"))).toEqual(["job:failed", "job:completed"]);
  });

  it("refuses to restart a running or completed job", () => {
    const run = new Run(chain(1));
    expect(run.send({ type: "restart" }).reason).toBe("job is still running");
    run.start();
    run.runToCompletion("t1");
    expect(run.send({ type: "restart" }).reason).toBe("job completed");
  });
});
