import { describe, expect, it } from "vitest";
import { planChange, waitingState, type JobMeta } from "../../src/domain/job-management";

const NOW = Date.UTC(2026, 10, 28, 12);
const meta = (overrides: Partial<JobMeta> = {}): JobMeta => ({
  queueState: "queued",
  priority: 5,
  runAt: null,
  semaphoreUrl: null,
  persist: false,
  generation: 1,
  startedAt: null,
  syncPending: false,
  ...overrides,
});

describe("job changes (PATCH /jobs/{id})", () => {
  it("a future run_at or a semaphore makes a waiting job scheduled; otherwise it is queued", () => {
    expect(waitingState(null, null, NOW)).toBe("queued");
    expect(waitingState(NOW - 1, null, NOW)).toBe("queued");
    expect(waitingState(NOW + 1, null, NOW)).toBe("scheduled");
    expect(waitingState(null, "https://x/", NOW)).toBe("scheduled");
  });

  it("pauses a started job through the reducer and frees its slot", () => {
    const plan = planChange(meta({ queueState: "started" }), true, { queueState: "paused" }, NOW);
    expect(plan).toMatchObject({ ok: true, events: [{ type: "pause" }], performed: ["queue_state"] });
    if (plan.ok) expect(plan.meta).toMatchObject({ queueState: "paused", syncPending: true, generation: 1 });
  });

  it("pauses a waiting job without a reducer event", () => {
    const plan = planChange(meta({ queueState: "scheduled", runAt: NOW + 1000 }), false, { queueState: "paused" }, NOW);
    expect(plan).toMatchObject({ ok: true, events: [], meta: { queueState: "paused" } });
  });

  it("resumes a paused job into a new admission round; refuses to resume one that is not paused", () => {
    const plan = planChange(meta({ queueState: "paused", generation: 4 }), true, { queueState: "queued" }, NOW);
    expect(plan).toMatchObject({ ok: true, meta: { queueState: "queued", generation: 5, syncPending: true } });
    expect(planChange(meta({ queueState: "started" }), true, { queueState: "queued" }, NOW)).toMatchObject({ ok: false });
  });

  it("breaks a job with a cancel event, from any state before its end", () => {
    for (const queueState of ["scheduled", "queued", "started", "paused"] as const) {
      const plan = planChange(meta({ queueState }), queueState === "started", { queueState: "broken" }, NOW);
      expect(plan).toMatchObject({ ok: true, events: [{ type: "cancel", message: "job cancelled" }], meta: { queueState: "broken" } });
    }
  });

  it("changes run_at and semaphore_url only before the job starts, re-entering the queue", () => {
    const plan = planChange(meta(), false, { runAt: NOW + 60_000, priority: 2 }, NOW);
    expect(plan).toMatchObject({ ok: true, performed: ["priority", "run_at"], meta: { queueState: "scheduled", generation: 2, priority: 2 } });
    expect(planChange(meta({ queueState: "started" }), true, { runAt: NOW + 1 }, NOW)).toMatchObject({ ok: false });
    expect(planChange(meta({ queueState: "paused" }), true, { semaphoreUrl: "https://x/" }, NOW)).toMatchObject({ ok: false });
  });

  it("allows only persist once the job ended, all or nothing", () => {
    expect(planChange(meta({ queueState: "completed" }), true, { persist: true }, NOW)).toMatchObject({
      ok: true,
      performed: ["persist"],
      meta: { persist: true, syncPending: false },
    });
    for (const change of [{ priority: 1 }, { queueState: "paused" as const }, { persist: true, priority: 1 }]) {
      expect(planChange(meta({ queueState: "broken" }), true, change, NOW)).toMatchObject({ ok: false });
    }
  });
});
