import { describe, expect, it } from "vitest";
import { HEAD_BODY_CHARS } from "../../src/coordinator/job-document";
import { headDocument, newJobModel, type JobModel } from "../../src/coordinator/job-model";
import type { JobSpec } from "../../src/coordinator/job-spec";
import { applyChange, type ChangeOutcome } from "../../src/coordinator/job-writes";
import type { JobMeta } from "../../src/domain/job-management";
import { SelftestParameters } from "../../src/workflows/selftest";
import { T0 } from "./support";

/**
 * The write set of a transition (job-writes.ts), without a runtime: what a change stores, in which rows,
 * and which effects it starts. The coordinator only applies this, so what a job costs in rows is decided
 * here, and asserted here.
 */

const CONFIG = { dispatchLeaseMs: 30_000, leaseGraceMs: 5_000, callbackTimeoutMs: 15_000 };
const HOOK = "https://cms.example.com/hook";

function spec(parameters: Record<string, unknown>): JobSpec {
  const parsed = SelftestParameters.parse({ content_id: "c1", ...parameters });
  return {
    jobId: "01JOBWRITES0000000000000000",
    client: "writes-client",
    workflow: "selftest",
    contentId: "c1",
    parameters: parsed,
    customData: parsed.custom_data ?? null,
    endpoints: parsed.rest_endpoints,
    retryLimit: 3,
    retryDelayMs: 5_000,
    callbackScheduleMs: [5_000, 300_000],
    createdAt: T0,
    priority: 5,
    persist: false,
    runAt: null,
    submittedParameters: parameters,
    submissionLog: [{ severity: "info", message: "submitted" }],
  };
}

const META: JobMeta = { queueState: "queued", priority: 5, runAt: null, semaphoreUrl: null, persist: false, generation: 1, startedAt: null, syncPending: true };

function job(parameters: Record<string, unknown>): JobModel {
  return newJobModel(spec(parameters), META, CONFIG, T0);
}

/** Starts the job and runs `task` through claim and completion; returns each change's outcome. */
function start(model: JobModel, at = T0 + 1): ChangeOutcome {
  return applyChange(model, { events: [{ type: "start" }], meta: { ...model.meta, queueState: "started", startedAt: at } }, at);
}

function run(model: JobModel, task: string, at: number, takeNext = false): ChangeOutcome[] {
  const attempt = model.state.tasks[task]!.attempt;
  return [
    applyChange(model, { events: [{ type: "claim", task, attempt }] }, at),
    applyChange(model, { events: [{ type: "complete", task, attempt, output: null, takeNext }] }, at + 1),
  ];
}

/** Delivers every send of an outcome (status 200). */
function deliver(model: JobModel, outcome: ChangeOutcome, at: number): ChangeOutcome {
  const reports = outcome.sends.map((send) => ({ id: send.id, attempt: send.attempt, record: { status: 200, retryAfterMs: null, error: null, startedAt: at, durationMs: 5 } }));
  return applyChange(model, { reports }, at);
}

describe("the write set of a transition", () => {
  it("starts a job with one head row and its first task dispatched; the claim puts task.start in the head with its body", () => {
    const model = job({ tasks: 3, rest_endpoints: [HOOK] });
    const started = start(model);
    expect(started.applied).toBe(true);
    expect(started.dispatches).toStrictEqual([{ task: "task_1", attempt: 1 }]);
    expect(started.writes!.pages!.size).toBe(0);
    // Started is a job-level change: the D1 index row is due.
    expect(started.indexChanged).toBe(true);
    const outcome = applyChange(model, { events: [{ type: "claim", task: "task_1", attempt: 1 }] }, T0 + 2);
    expect(outcome.writes!.callbacks).toStrictEqual([]);
    expect(outcome.indexChanged).toBe(false);
    expect(outcome.sends).toHaveLength(1);
    const id = outcome.sends[0]!.id;
    expect(outcome.writes!.document.bodies![id]).toContain('"event":"start"');
    expect(outcome.writes!.document.deliveries.map((record) => record.entry.id)).toStrictEqual([id]);
  });

  it("a mid-chain completion hands the next task over, changes no index field, and writes only the head", () => {
    const model = job({ tasks: 3, rest_endpoints: [HOOK] });
    start(model);
    const [claim, complete] = run(model, "task_1", T0 + 10, true);
    expect(claim!.writes).not.toBeNull();
    expect(complete!.handoff).toBe("task_2");
    expect(complete!.dispatches).toStrictEqual([]);
    expect(complete!.indexChanged).toBe(false);
    expect(complete!.writes!.callbacks).toStrictEqual([]);
    expect(complete!.writes!.logChunks).toStrictEqual([]);
    expect(Object.keys(complete!.writes!.document.bodies!)).toHaveLength(3);
  });

  it("a refused event writes nothing", () => {
    const model = job({ tasks: 2 });
    start(model);
    run(model, "task_1", T0 + 10);
    const again = applyChange(model, { events: [{ type: "complete", task: "task_1", attempt: 1, output: null }] }, T0 + 20);
    expect(again.applied).toBe(false);
    expect(again.writes).toBeNull();
    expect(again.reason).not.toBe("");
  });

  it("gives a callback whose body is too large for the head a row of its own", () => {
    // custom_data rides in the job.end callback only.
    const model = job({ tasks: 1, rest_endpoints: [HOOK], custom_data: { blob: "x".repeat(HEAD_BODY_CHARS) } });
    start(model);
    const [, complete] = run(model, "task_1", T0 + 10);
    const own = complete!.writes!.callbacks!;
    expect(own).toHaveLength(1);
    expect(own[0]!.body).toContain("xxxx");
    expect(own[0]!.record.entry.event).toBe("job.end");
    const head = complete!.writes!.document;
    expect(head.deliveries.map((record) => record.entry.id)).not.toContain(own[0]!.record.entry.id);
    expect(Object.keys(head.bodies!)).toHaveLength(2);
  });

  it("seals 32 settled callbacks into a chunk that takes their bodies out of the head", () => {
    const model = job({ tasks: 20, rest_endpoints: [HOOK] });
    start(model);
    let outcome: ChangeOutcome | null = null;
    let at = T0 + 10;
    const chunks: NonNullable<NonNullable<ChangeOutcome["writes"]>["deliveryChunks"]> = [];
    for (let i = 1; i <= 20; i++) {
      for (const change of run(model, `task_${i}`, at)) {
        if (change.sends.length > 0) outcome = change;
      }
      // Deliver everything due, in order, until the line is empty.
      while (outcome && outcome.sends.length > 0) {
        outcome = deliver(model, outcome, at + 2);
        chunks.push(...(outcome.writes?.deliveryChunks ?? []));
      }
      at += 10;
    }
    expect(chunks.length).toBeGreaterThanOrEqual(1);
    const [chunk] = chunks;
    expect(chunk!.records).toHaveLength(32);
    expect(Object.keys(chunk!.bodies)).toStrictEqual(chunk!.records.map((record) => record.entry.id));
    for (const id of Object.keys(chunk!.bodies)) expect(model.headBodies.has(id)).toBe(false);
    expect(headDocument(model, []).deliveries.length).toBeLessThan(32);
  });

  it("reports the job's cost once: when it has ended and its callbacks are settled", () => {
    const model = job({ tasks: 1, rest_endpoints: [HOOK] });
    start(model);
    const [claim, complete] = run(model, "task_1", T0 + 10);
    expect(complete!.reportCost).toBe(false);
    expect(complete!.indexChanged).toBe(true);
    // The task.start went with the claim; the task.complete and job.end wait behind it.
    const reported: boolean[] = [];
    let outcome = claim!;
    while (outcome.sends.length > 0) {
      outcome = deliver(model, outcome, T0 + 20);
      reported.push(outcome.reportCost);
    }
    expect(reported.filter(Boolean)).toHaveLength(1);
    expect(reported.at(-1)).toBe(true);
    expect(model.outbox.settled()).toBe(true);
  });
});
