import { describe, expect, it } from "vitest";
import type { FuzzRequest, FuzzResponse } from "../fuzz/fuzz-request";
import { FuzzStats } from "../fuzz/fuzz-stats";
import type { Snapshot } from "../fuzz/state-snapshot";
import { investigate, type Baselines } from "../fuzz/state-verdicts";

/**
 * When a chunk of refused requests left the state changed, the OpenAPI fuzzer replays them one by one to
 * name the request that changed it, or finds that the state moves by itself (inconclusive).
 */

const state = (priority: number): Snapshot => ({ api: {}, d1: { jobs: [`{"id":"j","priority":${priority}}`] } });

const request = (target: string, method = "PATCH"): FuzzRequest => ({
  operation: "PATCH /jobs/{id}",
  method,
  target,
  headers: {},
  body: "{}",
  intent: "mutated",
  mutation: `mutation of ${target}`,
  expect: "refused",
});

const answer = (status: number): FuzzResponse => ({ status, headers: {}, body: Buffer.from("{}"), durationMs: 1 });

/** A fake engine: `current` is its state; `culprit` is the target whose replay changes it (and is refused). */
function fakeEngine(initial: number, culprit: string | null, drift = false) {
  let current = initial;
  const driver: Baselines = {
    unsettled: [],
    restore: async () => true,
    snapshot: async () => {
      if (drift) current++;
      return state(current);
    },
  };
  const http = {
    send: async (sent: Pick<FuzzRequest, "target">) => {
      if (sent.target === culprit) current += 10;
      return answer(409);
    },
  };
  return { driver, http };
}

describe("investigate", () => {
  it("names the refused request that changes the state when sent again", async () => {
    const { driver, http } = fakeEngine(5, "/jobs/b");
    const stats = new FuzzStats();
    const chunk = [request("/jobs/a"), request("/jobs/b"), request("/jobs/c", "GET")];
    await investigate(driver, http, stats, chunk, state(5), ["D1 jobs row new or changed"], (text) => text, 0);
    expect(stats.violations).toHaveLength(1);
    expect(stats.violations[0]!.kind).toBe("refused_changed_state");
    expect(stats.violations[0]!.request).toContain("PATCH /jobs/b");
    expect(stats.violations[0]!.message).toMatch(/^answered 409 but changed: D1 jobs row/);
  });

  it("reports the whole chunk when no single request changes the state again", async () => {
    const { driver, http } = fakeEngine(5, null);
    const stats = new FuzzStats();
    await investigate(driver, http, stats, [request("/jobs/a"), request("/jobs/b")], state(5), ["D1 jobs row new or changed: x"], (text) => text, 0);
    expect(stats.violations).toHaveLength(1);
    expect(stats.violations[0]!.message).toContain("no single request did again");
    expect(stats.violations[0]!.message).toContain("PATCH /jobs/b");
  });

  it("calls a chunk inconclusive when the state moves with no request at all", async () => {
    const { driver, http } = fakeEngine(5, "/jobs/a", true);
    const stats = new FuzzStats();
    await investigate(driver, http, stats, [request("/jobs/a")], state(5), ["D1 jobs row new or changed"], (text) => text, 0);
    expect(stats.violations).toEqual([]);
    expect(stats.chunks.inconclusive).toBe(1);
  });
});
