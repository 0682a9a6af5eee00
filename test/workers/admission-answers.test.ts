import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SchedulerSync, SyncAnswer } from "../../src/protocol/admission";
import { resolveSettings } from "../../src/domain/settings";
import { schedulerConfigFrom, type SchedulerConfig } from "../../src/scheduler/scheduler-config";
import { schedulerFor } from "../../src/scheduler/stub";
import { captureQueue, coordinatorOf, selftestSpec, waitFor } from "./helpers";

/**
 * The admission protocol's answers (src/protocol/admission.ts) under races:
 * - a scheduler keeps the newest settings it was given: a job submitted through an isolate whose copy of the
 *   client's settings is a few seconds old does not put older limits back;
 * - a start that arrives in the answer to a sync, after the job has left that round (a pause raced the
 *   sync), is not applied, and the coordinator tells the scheduler where the job stands, freeing the slot.
 */

const base = schedulerConfigFrom(resolveSettings([]), true);

beforeEach(() => {
  captureQueue(env.TASK_QUEUE);
  captureQueue(env.CALLBACK_QUEUE);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("admission answers", () => {
  it("keeps the newest settings: an older copy riding on a sync changes nothing", async () => {
    const scheduler = schedulerFor(env.CLIENT_SCHEDULER, "answers-config");
    const newer: SchedulerConfig = { ...base, maxJobs: 1, version: "2026-11-30T10:00:01.000Z" };
    const older: SchedulerConfig = { ...base, maxJobs: 10, version: "2026-11-30T10:00:00.000Z" };
    await scheduler.configure(newer);
    const waiting = (jobId: string): SchedulerSync => ({ jobId, generation: 1, kind: "waiting", priority: 5, submittedAt: Date.now(), runAt: null, semaphoreUrl: null });
    expect(await scheduler.sync(waiting("01JANSWERSCONFIG0000000001"), older)).toMatchObject({ start: 1 });
    // max_jobs is still 1: the second job waits.
    expect(await scheduler.sync(waiting("01JANSWERSCONFIG0000000002"), older)).not.toHaveProperty("start");
    expect((await scheduler.view()).config).toMatchObject({ maxJobs: 1, version: newer.version });
  });

  it("does not start a job that left the round its answer names, and syncs again so the slot is freed", async () => {
    const spec = selftestSpec({ tasks: 1 }, { client: "answers-stale" });
    const syncs: SchedulerSync[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The client's scheduler, as the coordinator reaches it: its answer to the first sync (the job waiting)
    // is held back until the job has been paused, then names round 1 as started.
    const get = env.CLIENT_SCHEDULER.get.bind(env.CLIENT_SCHEDULER);
    vi.spyOn(env.CLIENT_SCHEDULER, "get").mockImplementation((id) => {
      if (!id.equals(env.CLIENT_SCHEDULER.idFromName(spec.client))) return get(id);
      return {
        sync: async (sync: SchedulerSync): Promise<SyncAnswer> => {
          syncs.push(sync);
          if (syncs.length === 1) {
            await released;
            return { rowsWritten: 0, start: 1 };
          }
          return { rowsWritten: 0 };
        },
      } as never;
    });
    const coordinator = coordinatorOf(spec.jobId);
    await coordinator.create(spec, base);
    await waitFor(async () => syncs.length, (count) => count === 1);
    expect(await coordinator.change(spec.client, { queueState: "paused" })).toMatchObject({ ok: true });
    release();
    // The stale start is not applied; the scheduler hears that the job is gone from its queue.
    const seen = await waitFor(async () => syncs.map((sync) => sync.kind), (kinds) => kinds.length >= 3);
    expect(seen).toStrictEqual(["waiting", "gone", "gone"]);
    const snapshot = await coordinator.snapshot();
    expect(snapshot!.meta.queueState).toBe("paused");
    expect(snapshot!.state.admitted).toBe(false);
  });
});
