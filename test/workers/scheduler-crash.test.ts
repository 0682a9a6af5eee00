import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { resolveSettings } from "../../src/domain/settings";
import { schedulerConfigFrom } from "../../src/scheduler/scheduler-config";
import { schedulerFor } from "../../src/scheduler/stub";
import { waitFor } from "./helpers";

/**
 * A runtime that dies while the client's scheduler is starting a job (the same flaw the chaos drill found in
 * the coordinator's creation): the choice and the slot are saved, the coordinator not yet told. The
 * scheduler's alarm must already be armed, or the job would stay queued, holding its slot, until the client
 * happened to send something else. (A job that gets its slot in the answer to its own sync is told by that
 * answer, and its coordinator syncs again until it has one: a repeated sync answers the start again.)
 */

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a start cut short after the scheduler saved its choice", () => {
  it("has the scheduler's alarm armed before the coordinator is told", async () => {
    const client = "scheduler-crash";
    const jobId = "01JSCHEDULERCRASH000000001";
    const first = "01JSCHEDULERCRASH000000000";
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let admits = 0;
    // The coordinator of the job answers `admit` only when released: the scheduler is stopped mid-start.
    const get = env.JOB_COORDINATOR.get.bind(env.JOB_COORDINATOR);
    vi.spyOn(env.JOB_COORDINATOR, "get").mockImplementation((id) => {
      if (!id.equals(env.JOB_COORDINATOR.idFromName(jobId))) return get(id);
      return { admit: async () => (admits++, await released, "started") } as never;
    });
    const scheduler = schedulerFor(env.CLIENT_SCHEDULER, client);
    const config = { ...schedulerConfigFrom(resolveSettings([]), true), maxJobs: 1 };
    const waiting = (id: string) => ({ jobId: id, generation: 1, kind: "waiting" as const, priority: 5, submittedAt: Date.now(), runAt: null, semaphoreUrl: null });
    // The first job takes the only slot in the answer to its own sync, and again when it syncs again.
    expect(await scheduler.sync(waiting(first), config)).toMatchObject({ start: 1 });
    expect(await scheduler.sync(waiting(first), config)).toMatchObject({ start: 1 });
    // The second waits for the slot; when the first leaves, the scheduler tells the second's coordinator.
    expect(await scheduler.sync(waiting(jobId), config)).not.toHaveProperty("start");
    expect(admits).toBe(0);
    const syncing = scheduler.sync({ jobId: first, generation: 1, kind: "gone" });
    await waitFor(async () => admits, (count) => count > 0, 5_000);
    // Were the runtime to die now, with the admit unanswered, the alarm is all that would be left.
    const stub = env.CLIENT_SCHEDULER.get(env.CLIENT_SCHEDULER.idFromName(client));
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    release();
    await syncing;
    expect(alarm).not.toBeNull();
  });
});
