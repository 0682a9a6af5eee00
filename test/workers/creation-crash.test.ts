import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resolveSettings } from "../../src/domain/settings";
import { schedulerConfigFrom } from "../../src/scheduler/scheduler-config";
import { captureQueue, coordinatorOf, rows, selftestSpec, waitFor } from "./helpers";

/**
 * A runtime that dies while a job is being created (found by the chaos drill, scripts/chaos): the job is
 * stored, but its D1 rows and its admission sync have not gone out. Its alarm must already be armed, so the
 * watchdog finishes the creation after a restart; and a client that repeats the submission (same
 * Idempotency-Key, so the same coordinator) must get a job that can be read, not one whose rows still wait.
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
  it("has its alarm armed before the first D1 write goes out", async () => {
    const spec = selftestSpec({ tasks: 1 }, { client: "creation-crash" });
    const stub = coordinatorOf(spec.jobId);
    // D1 batches (the projection flush) wait until released: the creation is stopped just after its transaction.
    const batch = env.DB.batch.bind(env.DB);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let writes = 0;
    vi.spyOn(env.DB, "batch").mockImplementation(async (statements) => {
      writes++;
      await released;
      return batch(statements);
    });
    const creating = stub.create(spec, config);
    await waitFor(async () => writes, (count) => count > 0, 5_000);
    // Were the runtime to die now, with the D1 write unanswered, the alarm is all that would be left.
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    release();
    await creating;
    expect(alarm).not.toBeNull();
  });

  it("is finished by a repeat of create (an idempotent resubmission): the job can be read when it returns", async () => {
    const spec = selftestSpec({ tasks: 1 }, { client: "creation-crash" });
    const stub = coordinatorOf(spec.jobId);
    // The state a crash before the D1 flush leaves: the job stored, its rows pending, no alarm.
    vi.spyOn(env.DB, "batch").mockRejectedValue(new Error("the runtime died"));
    await stub.create(spec, config);
    await runInDurableObject(stub, (_instance, state) => state.storage.deleteAlarm());
    await evictDurableObject(stub);
    vi.mocked(env.DB.batch).mockRestore();
    expect(await jobRows(spec.jobId)).toBe(0);

    expect(await stub.create(spec, config)).toStrictEqual({ created: false });
    expect(await jobRows(spec.jobId)).toBe(1);
  });
});
