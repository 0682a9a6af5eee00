import { describe, expect, it } from "vitest";
import { DEFAULT_OFFER_LEASE_MS, DEFAULT_WORKER_LEASE_MS, jobProgress } from "../../src/domain/job-state";
import { leaseStanding, repeatsEndingReport } from "../../src/domain/worker-lease";
import { wantsProgress } from "../../src/coordinator/notices";
import { poolOf } from "../../src/coordinator/planning";
import { chain, dispatches, notices, plan, Run, script, T0 } from "./support";

/** Remote tasks (workers.md): offered to a pool, claimed under a lease, kept by heartbeats, taken back when silent. */

const LEASE = "digest-of-lease-1";
const media = (count: number, timeoutMs = 10 * 60_000) => chain(count, { pool: "media", timeoutMs });

describe("dispatch of a task that runs on a pool", () => {
  it("offers it with the pool's longer offer lease, and never hands it inline to a reporter", () => {
    const run = new Run([{ name: "edge" }, { name: "remote", needs: ["edge"], pool: "media" }]);
    run.start();
    run.claim("edge");
    const result = run.complete("edge", 1, true);
    expect(result.effects.some((effect) => effect.type === "handoff")).toBe(false);
    expect(dispatches(result.effects)).toEqual([{ task: "remote", attempt: 1 }]);
    expect(run.state.tasks.remote).toMatchObject({ status: "dispatched", pool: "media", deadline: run.now + DEFAULT_OFFER_LEASE_MS });
  });

  it("offers it again, same attempt, when the offer lease passes without a claim; no log line each time", () => {
    const run = new Run(media(1));
    run.start();
    const result = run.tick(T0 + DEFAULT_OFFER_LEASE_MS);
    expect(dispatches(result.effects)).toEqual([{ task: "t1", attempt: 1 }]);
    expect(result.effects.filter((effect) => effect.type === "log")).toEqual([]);
  });
});

describe("claims", () => {
  it("a pool task is claimed only with a lease, an edge task never with one", () => {
    const run = new Run([{ name: "remote", pool: "media" }, { name: "edge" }]);
    run.start();
    expect(run.send({ type: "claim", task: "remote", attempt: 1 })).toMatchObject({ applied: false, reason: "task runs on worker pool 'media'" });
    expect(run.send({ type: "claim", task: "edge", attempt: 1, lease: LEASE })).toMatchObject({ applied: false, reason: "task runs on the edge" });
    expect(run.send({ type: "claim", task: "remote", attempt: 1, lease: LEASE }).applied).toBe(true);
    expect(run.state.tasks.remote).toMatchObject({ status: "running", lease: LEASE, attemptStartedAt: T0, deadline: T0 + DEFAULT_WORKER_LEASE_MS });
    expect(script(run.notices())).toEqual(["remote:start"]);
  });

  it("a second claim of the same offer (another worker, a repeated lease call) is refused", () => {
    const run = new Run(media(1));
    run.start();
    run.send({ type: "claim", task: "t1", attempt: 1, lease: LEASE });
    expect(run.send({ type: "claim", task: "t1", attempt: 1, lease: "other" })).toMatchObject({ applied: false, reason: "task is running at attempt 1" });
    expect(run.state.tasks.t1!.lease).toBe(LEASE);
  });

  it("the lease is as long as the task's timeout when that is shorter", () => {
    const run = new Run(media(1, 20_000));
    run.start();
    run.send({ type: "claim", task: "t1", attempt: 1, lease: LEASE });
    expect(run.state.tasks.t1!.deadline).toBe(T0 + 20_000);
  });
});

describe("heartbeats", () => {
  it("extend the lease from now, record progress and phase, and weigh the job's progress", () => {
    const run = new Run(media(2));
    run.start();
    run.send({ type: "claim", task: "t1", attempt: 1, lease: LEASE });
    run.send({ type: "heartbeat", task: "t1", attempt: 1, progress: 40.4, phase: "encoding" }, T0 + 20_000);
    expect(run.state.tasks.t1).toMatchObject({ deadline: T0 + 20_000 + DEFAULT_WORKER_LEASE_MS, progress: 40, phase: "encoding" });
    expect(jobProgress(run.state)).toBe(20);
  });

  it("never extend it past the attempt's timeout, however many arrive", () => {
    const run = new Run(media(1, 90_000));
    run.start();
    run.send({ type: "claim", task: "t1", attempt: 1, lease: LEASE });
    for (let at = T0 + 20_000; at <= T0 + 80_000; at += 20_000) run.send({ type: "heartbeat", task: "t1", attempt: 1 }, at);
    expect(run.state.tasks.t1!.deadline).toBe(T0 + 90_000);
    const result = run.tick(T0 + 90_000);
    expect(notices(result.effects)).toMatchObject([{ event: "fail", message: "attempt 1 timed out after 90 s", retrying: true }]);
  });

  it("of a stale attempt or an edge task change nothing", () => {
    const run = new Run([{ name: "remote", pool: "media" }, { name: "edge" }]);
    run.start();
    run.send({ type: "claim", task: "remote", attempt: 1, lease: LEASE });
    run.claim("edge");
    expect(run.send({ type: "heartbeat", task: "remote", attempt: 2 }).applied).toBe(false);
    expect(run.send({ type: "heartbeat", task: "edge", attempt: 1 })).toMatchObject({ applied: false, reason: "task runs on the edge" });
  });
});

describe("task.progress callbacks", () => {
  it("are made only when an endpoint asked for them, at most one per task every 5 s, with the progress and phase", () => {
    const run = new Run({ ...plan(media(1)), progressCallbacks: true });
    run.start();
    run.send({ type: "claim", task: "t1", attempt: 1, lease: LEASE });
    run.send({ type: "heartbeat", task: "t1", attempt: 1, progress: 10, phase: "encoding" }, T0 + 1_000);
    run.send({ type: "heartbeat", task: "t1", attempt: 1, progress: 20 }, T0 + 4_000);
    run.send({ type: "heartbeat", task: "t1", attempt: 1, progress: 30 }, T0 + 6_500);
    run.send({ type: "heartbeat", task: "t1", attempt: 1, progress: 30 }, T0 + 20_000);
    const progress = run.notices().filter((notice) => notice.kind === "task" && notice.event === "progress");
    expect(progress).toMatchObject([
      { task: "t1", attempt: 1, progress: 10, message: "encoding", time: T0 + 1_000 },
      { task: "t1", attempt: 1, progress: 30, message: "encoding", time: T0 + 6_500 },
    ]);
    expect(run.notices().map((notice) => notice.sequence)).toEqual([1, 2, 3]);
  });

  it("are asked for by a rule that lists the event, never by default", () => {
    const endpoints = ["https://a.example/hook", "https://b.example/hook"];
    expect(wantsProgress(endpoints, [])).toBe(false);
    expect(wantsProgress(endpoints, [{ prefix: "https://a.example/" }])).toBe(false);
    expect(wantsProgress(endpoints, [{ prefix: "https://b.example/", events: ["task.progress", "job.end"] }])).toBe(true);
    expect(wantsProgress(["https://c.example/"], [{ prefix: "https://b.example/", events: ["task.progress"] }])).toBe(false);
  });

  it("are not made for a job whose endpoints did not ask: its sequence has no gaps", () => {
    const run = new Run(media(1));
    run.start();
    run.send({ type: "claim", task: "t1", attempt: 1, lease: LEASE });
    run.send({ type: "heartbeat", task: "t1", attempt: 1, progress: 50 }, T0 + 10_000);
    run.send({ type: "complete", task: "t1", attempt: 1, output: null }, T0 + 20_000);
    expect(script(run.notices())).toEqual(["t1:start", "t1:complete", "job:completed"]);
    expect(run.notices().map((notice) => notice.sequence)).toEqual([1, 2, 3]);
  });
});

describe("a lease that ends without a heartbeat", () => {
  it("is taken back: the attempt fails as lost, and the task is offered again (a new attempt) after the retry delay", () => {
    const run = new Run(media(1));
    run.start();
    run.send({ type: "claim", task: "t1", attempt: 1, lease: LEASE });
    const lost = run.tick(T0 + DEFAULT_WORKER_LEASE_MS);
    expect(notices(lost.effects)).toMatchObject([{ event: "fail", attempt: 1, retrying: true, message: "attempt 1 lost: its worker's lease ended without a heartbeat" }]);
    expect(run.status("t1")).toBe("retrying");
    const again = run.tick(run.state.tasks.t1!.deadline!);
    expect(dispatches(again.effects)).toEqual([{ task: "t1", attempt: 2 }]);
    // The old lease's late report changes nothing.
    expect(run.send({ type: "complete", task: "t1", attempt: 1, output: null }).applied).toBe(false);
  });
});

describe("leaseStanding", () => {
  const matches = (digest: string) => digest === LEASE;

  it("tells current, ended and unknown leases apart", () => {
    const run = new Run(media(1));
    run.start();
    expect(leaseStanding(run.state, "t1", 1, matches)).toEqual({ kind: "unknown" });
    run.send({ type: "claim", task: "t1", attempt: 1, lease: LEASE });
    expect(leaseStanding(run.state, "t1", 1, matches).kind).toBe("current");
    expect(leaseStanding(run.state, "t1", 1, () => false)).toEqual({ kind: "unknown" });
    expect(leaseStanding(run.state, "t1", 2, matches)).toEqual({ kind: "unknown" });
    expect(leaseStanding(run.state, "nope", 1, matches)).toEqual({ kind: "unknown" });
    run.send({ type: "complete", task: "t1", attempt: 1, output: { ok: true } });
    const ended = leaseStanding(run.state, "t1", 1, matches);
    expect(ended).toMatchObject({ kind: "ended", sameAttempt: true });
    expect(ended.kind === "ended" && repeatsEndingReport(ended.task, { type: "complete" })).toBe(true);
    expect(ended.kind === "ended" && repeatsEndingReport(ended.task, { type: "fail", error: "x" })).toBe(false);
  });

  it("ends the lease of a cancelled job's task (its heartbeat hears cancel)", () => {
    const run = new Run(media(1));
    run.start();
    run.send({ type: "claim", task: "t1", attempt: 1, lease: LEASE });
    run.send({ type: "cancel", message: "broken" });
    expect(leaseStanding(run.state, "t1", 1, matches)).toMatchObject({ kind: "ended" });
  });
});

describe("poolOf", () => {
  it("maps a pool to the client's own, keeps unmapped pools, and runs edge tasks on the edge", () => {
    expect(poolOf(undefined, { media: "acme" })).toBeNull();
    expect(poolOf("edge", { media: "acme" })).toBeNull();
    expect(poolOf("media", { media: "acme" })).toBe("acme");
    expect(poolOf("media", undefined)).toBe("media");
    expect(poolOf("gpu", { media: "acme" })).toBe("gpu");
    expect(poolOf("media", JSON.parse('{"__proto__": "x"}') as Record<string, string>)).toBe("media");
  });
});
