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
 * happened to send something else.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a start cut short after the scheduler saved its choice", () => {
  it("has the scheduler's alarm armed before the coordinator is told", async () => {
    const client = "scheduler-crash";
    const jobId = "01JSCHEDULERCRASH000000001";
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
    const syncing = scheduler.sync(
      { jobId, generation: 1, kind: "waiting", priority: 5, submittedAt: Date.now(), runAt: null, semaphoreUrl: null },
      schedulerConfigFrom(resolveSettings([]), true),
    );
    await waitFor(async () => admits, (count) => count > 0, 5_000);
    // Were the runtime to die now, with the admit unanswered, the alarm is all that would be left.
    const stub = env.CLIENT_SCHEDULER.get(env.CLIENT_SCHEDULER.idFromName(client));
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    release();
    await syncing;
    expect(alarm).not.toBeNull();
  });
});
