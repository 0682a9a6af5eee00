import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resolveSettings } from "../../src/domain/settings";
import { schedulerConfigFrom } from "../../src/scheduler/scheduler-config";
import { captureQueue, coordinatorOf, indexRow, rows, selftestSpec } from "./helpers";

/**
 * A runtime that dies while a job is being created (found by the chaos drill, scripts/chaos): the job is
 * stored, but its D1 index row and its admission sync have not gone out. Its alarm must already be armed
 * when create() returns, so the watchdog finishes the creation after a restart; and a client that repeats
 * the submission (same Idempotency-Key, so the same coordinator) must find the job finished.
 */

const config = schedulerConfigFrom(resolveSettings([]), true);

beforeEach(() => {
  captureQueue(env.TASK_QUEUE);
  captureQueue(env.CALLBACK_QUEUE);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const jobRows = async (id: string) => (await rows<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE id = ?`, id))[0]!.n;

describe("a creation cut short after its storage transaction", () => {
  it("has its alarm armed before create() returns, before any D1 write or admission sync went out", async () => {
    const spec = selftestSpec({ tasks: 1 }, { client: "creation-crash" });
    const stub = coordinatorOf(spec.jobId);
    await stub.create(spec, config);
    // Were the runtime to die now (the index row is written a moment later), the alarm is all that is left.
    expect(await jobRows(spec.jobId)).toBe(0);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await indexRow(spec.jobId)).toMatchObject({ id: spec.jobId });
  });

  it("is finished by a repeat of create (an idempotent resubmission): its index row and admission follow", async () => {
    const spec = selftestSpec({ tasks: 1 }, { client: "creation-crash" });
    const stub = coordinatorOf(spec.jobId);
    // The state a crash right after the storage transaction leaves: the job stored, nothing sent, no alarm.
    vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("the runtime died");
    });
    await stub.create(spec, config);
    await runInDurableObject(stub, (_instance, state) => state.storage.deleteAlarm());
    await evictDurableObject(stub);
    vi.mocked(env.DB.prepare).mockRestore();
    expect(await jobRows(spec.jobId)).toBe(0);

    const repeat = await stub.create(spec, config);
    expect(repeat.created).toBe(false);
    // The row says what the job is now (admission may have started it meanwhile).
    expect(await indexRow(spec.jobId)).toMatchObject({ id: spec.jobId, queue_state: repeat.queueState });
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).not.toBeNull();
  });
});
