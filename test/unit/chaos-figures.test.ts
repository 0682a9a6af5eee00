import { describe, expect, test } from "vitest";
import { computeFigures, type Arrival, type FinalJob, type LogEntry, type TrackedJob } from "../../scripts/chaos/figures.ts";

/** The chaos drill's accounting (scripts/chaos/figures.ts): what counts as lost, missing, duplicated, out of order. */

const A = "http://127.0.0.1:1/j0/e0";
const B = "http://127.0.0.1:2/j0/e1";

/** A completed one-task job (start, complete, job callback: 3 per endpoint) with its log and clean arrivals. */
function oneTaskJob(id: string, endpoints: string[]): { job: TrackedJob; final: FinalJob; log: LogEntry[]; arrivals: Arrival[] } {
  const job: TrackedJob = { id, shape: "chain", endpoints, replaced: false };
  const final: FinalJob = { queue_state: "completed", failed: false, tasks: [{ task_name: "task_1", state: "completed", attempts: 1 }] };
  const log = endpoints.flatMap((endpoint, e) => [1, 2, 3].map((sequence) => ({ callback_id: `cb_${id}_${sequence}_${e}`, endpoint, sequence, state: "delivered" })));
  const arrivals = log.map((entry) => arrival(entry));
  return { job, final, log, arrivals };
}

function arrival(entry: LogEntry, status = 200, raw = `{"sequence":${entry.sequence}}`): Arrival {
  return { endpoint: entry.endpoint, webhookId: entry.callback_id, status, raw };
}

function figuresOf(parts: ReturnType<typeof oneTaskJob>[], arrivals?: Arrival[]) {
  return computeFigures(
    parts.map((part) => part.job),
    new Map(parts.map((part) => [part.job.id, part.final])),
    new Map(parts.map((part) => [part.job.id, part.log])),
    arrivals ?? parts.flatMap((part) => part.arrivals),
  );
}

describe("computeFigures", () => {
  test("a clean run: everything expected is delivered once, in order, and matches the tasks", () => {
    const figures = figuresOf([oneTaskJob("j1", [A, B]), oneTaskJob("j2", [A])]);
    expect(figures).toMatchObject({
      jobsSubmitted: 2,
      jobsEnded: 2,
      jobsLost: 0,
      callbacksExpected: 9,
      callbacksByTasks: 9,
      jobsCrossChecked: 2,
      crossCheckMismatches: 0,
      callbacksDelivered: 9,
      callbacksDuplicated: 0,
      callbacksOutOfOrder: 0,
      callbacksMissing: 0,
      callbacksUnexpected: 0,
    });
    expect(figures.problems).toStrictEqual([]);
  });

  test("a job that never ended, or that the engine does not know, is lost", () => {
    const running = oneTaskJob("j1", [A]);
    running.final = { ...running.final, queue_state: "started" };
    const unknown = oneTaskJob("j2", [B]);
    const figures = computeFigures([running.job, unknown.job], new Map([["j1", running.final]]), new Map([["j1", running.log]]), running.arrivals);
    expect(figures).toMatchObject({ jobsEnded: 0, jobsLost: 2 });
  });

  test("repeats: counted as duplicates when accepted again; a 500 before the accepted arrival is no duplicate; another body is flagged", () => {
    const part = oneTaskJob("j1", [A]);
    const [first, second] = part.log;
    const arrivals = [arrival(first!, 500), arrival(first!), arrival(first!), arrival(second!), arrival(second!, 200, `{"other":true}`), arrival(part.log[2]!)];
    const figures = figuresOf([part], arrivals);
    expect(figures).toMatchObject({ callbacksDelivered: 3, callbacksDuplicated: 2, duplicatesWithOtherBody: 1, callbacksOutOfOrder: 0, callbacksMissing: 0 });
  });

  test("out of order: per job and endpoint, by first accepted arrival; a late repeat is only a duplicate", () => {
    const part = oneTaskJob("j1", [A]);
    const [s1, s2, s3] = part.log;
    const figures = figuresOf([part], [arrival(s1!), arrival(s3!), arrival(s2!), arrival(s1!)]);
    expect(figures).toMatchObject({ callbacksOutOfOrder: 1, callbacksDuplicated: 1, callbacksDelivered: 3 });
    expect(figures.problems).toContain(`out of order: job j1 at ${A}: sequence 2 first arrived after 3`);
  });

  test("missing: a callback never accepted (only refused), and one the log does not show delivered", () => {
    const part = oneTaskJob("j1", [A]);
    part.log[2] = { ...part.log[2]!, state: "failed" };
    const figures = figuresOf([part], [arrival(part.log[0]!), arrival(part.log[1]!), arrival(part.log[2]!, 503)]);
    expect(figures).toMatchObject({ callbacksDelivered: 2, callbacksMissing: 1, callbacksNotDeliveredInLogs: 1 });
  });

  test("the cross-check: a log with fewer callbacks than the tasks call for, or a gap, or endpoints that differ", () => {
    const short = oneTaskJob("j1", [A]);
    short.final = { ...short.final, tasks: [{ task_name: "task_1", state: "completed", attempts: 2 }] };
    const gap = oneTaskJob("j2", [A]);
    gap.log = gap.log.filter((entry) => entry.sequence !== 2);
    const uneven = oneTaskJob("j3", [A, B]);
    uneven.job = { ...uneven.job, replaced: true };
    uneven.final = { ...uneven.final, queue_state: "broken", failed: true };
    uneven.log = uneven.log.filter((entry) => !(entry.endpoint === B && entry.sequence === 3));
    const figures = figuresOf([short, gap, uneven]);
    expect(figures.crossCheckMismatches).toBe(3);
    expect(figures.callbacksByTasks).toBe(5 + 3);
    expect(figures.jobsCrossChecked).toBe(2);
    expect(figures.jobsBroken).toBe(1);
    expect(figures.jobsFailed).toBe(0);
  });

  test("an arrival in no delivery log, or at another endpoint than its log's, is unexpected", () => {
    const part = oneTaskJob("j1", [A]);
    const stray: Arrival = { endpoint: A, webhookId: "cb_unknown", status: 200, raw: "{}" };
    const misrouted: Arrival = { ...arrival(part.log[0]!), endpoint: B };
    expect(figuresOf([part], [...part.arrivals, stray, misrouted]).callbacksUnexpected).toBe(2);
  });

  test("task attempts that timed out are counted once per callback, whatever the endpoints", () => {
    const part = oneTaskJob("j1", [A, B]);
    const fail = `{"event":"fail","message":"attempt 1 timed out after 11 s","sequence":2}`;
    const arrivals = part.arrivals.map((item, i) => (i === 1 || i === 4 ? { ...item, raw: fail } : item));
    expect(figuresOf([part], arrivals).attemptsTimedOut).toBe(1);
  });
});
