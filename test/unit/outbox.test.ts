import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isDelivered, Outbox, type AttemptOutcome, type DeliveryPolicy, type OutboxEntry, type Send } from "../../src/domain/outbox";

const A = "https://a.example/hook";
const B = "https://b.example/hook";
const POLICY: DeliveryPolicy = { scheduleMs: [5_000, 300_000], inFlightLeaseMs: 60_000 };
const T = 1_000_000;

const ok: AttemptOutcome = { status: 200, retryAfterMs: null, error: null };
const http = (status: number, retryAfterMs: number | null = null): AttemptOutcome => ({ status, retryAfterMs, error: null });
const network: AttemptOutcome = { status: null, retryAfterMs: null, error: "connection refused" };

function entry(sequence: number, endpoint = A, patch: Partial<OutboxEntry> = {}): OutboxEntry {
  const index = endpoint === A ? 0 : 1;
  return {
    id: `cb_${sequence}_${index}`,
    endpoint,
    sequence,
    event: "task.start",
    state: "pending",
    attempts: 0,
    dueAt: null,
    error: null,
    ...patch,
  };
}

const sent = (sends: Send[]): string[] => sends.map((s) => `${s.id}#${s.attempt}`);

describe("Outbox", () => {
  it("starts the head of each endpoint's line, one in flight per endpoint", () => {
    const outbox = new Outbox([], POLICY);
    const change = outbox.enqueue([entry(1, A), entry(1, B), entry(2, A), entry(2, B), entry(3, A)], T);
    expect(change.sends).toEqual([
      { id: "cb_1_0", endpoint: A, attempt: 1 },
      { id: "cb_1_1", endpoint: B, attempt: 1 },
    ]);
    expect(outbox.get("cb_1_0")).toMatchObject({ state: "in_flight", attempts: 1, dueAt: T + POLICY.inFlightLeaseMs });
    expect(outbox.get("cb_2_0")).toMatchObject({ state: "pending", attempts: 0 });
    // Every new entry is reported for persistence, once, in its latest form.
    expect(change.changed.map((e) => e.id)).toEqual(["cb_1_0", "cb_1_1", "cb_2_0", "cb_2_1", "cb_3_0"]);
    expect(change.changed.find((e) => e.id === "cb_1_0")!.state).toBe("in_flight");
    expect(outbox.settled()).toBe(false);
  });

  it("a delivery starts the next callback of the same endpoint only", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1, A), entry(1, B), entry(2, A)], T);
    const change = outbox.recordAttempt("cb_1_0", 1, ok, T + 50);
    expect(outbox.get("cb_1_0")).toMatchObject({ state: "delivered", dueAt: null, error: null });
    expect(sent(change.sends)).toEqual(["cb_2_0#1"]);
    expect(change.changed.map((e) => [e.id, e.state])).toEqual([
      ["cb_1_0", "delivered"],
      ["cb_2_0", "in_flight"],
    ]);
  });

  it("a failed attempt holds the line until its retry, which follows the schedule", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1), entry(2)], T);
    const failed = outbox.recordAttempt("cb_1_0", 1, http(500), T);
    expect(failed.sends).toEqual([]);
    expect(outbox.get("cb_1_0")).toMatchObject({ state: "pending", attempts: 1, dueAt: T + 5_000 });
    expect(outbox.get("cb_2_0")!.state).toBe("pending");
    expect(outbox.nextDue()).toBe(T + 5_000);

    expect(outbox.tick(T + 4_999).sends).toEqual([]);
    expect(sent(outbox.tick(T + 5_000).sends)).toEqual(["cb_1_0#2"]);
    outbox.recordAttempt("cb_1_0", 2, network, T + 5_000);
    expect(outbox.get("cb_1_0")).toMatchObject({ state: "pending", dueAt: T + 5_000 + 300_000, error: "connection refused" });
    expect(sent(outbox.tick(T + 305_000).sends)).toEqual(["cb_1_0#3"]);

    // The schedule has two retries: the third failed attempt is the last.
    const last = outbox.recordAttempt("cb_1_0", 3, http(503), T + 305_000);
    expect(outbox.get("cb_1_0")).toMatchObject({ state: "failed", attempts: 3, dueAt: null, error: "HTTP 503" });
    // A callback that failed for good frees its line.
    expect(sent(last.sends)).toEqual(["cb_2_0#1"]);
  });

  it("3xx and 4xx count as failed attempts; any 2xx as delivered", () => {
    expect([200, 201, 204, 299].every((status) => isDelivered(http(status)))).toBe(true);
    expect([199, 301, 400, 404, 429, 500].some((status) => isDelivered(http(status)))).toBe(false);
    expect(isDelivered(network)).toBe(false);
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1)], T);
    outbox.recordAttempt("cb_1_0", 1, http(302), T);
    expect(outbox.get("cb_1_0")!.state).toBe("pending");
  });

  it("honours Retry-After when it is longer than the schedule, not when shorter", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1), entry(1, B)], T);
    outbox.recordAttempt("cb_1_0", 1, http(429, 60_000), T);
    outbox.recordAttempt("cb_1_1", 1, http(503, 1_000), T);
    expect(outbox.get("cb_1_0")!.dueAt).toBe(T + 60_000);
    expect(outbox.get("cb_1_1")!.dueAt).toBe(T + 5_000);
  });

  it("410 Gone fails the callback and everything after it for that endpoint, now and later", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1, A), entry(2, A), entry(1, B), entry(2, B)], T);
    const gone = outbox.recordAttempt("cb_1_0", 1, http(410), T);
    expect(gone.sends).toEqual([]);
    for (const id of ["cb_1_0", "cb_2_0"]) {
      expect(outbox.get(id)).toMatchObject({ state: "failed", dueAt: null, error: "endpoint answered 410 Gone" });
    }
    expect(outbox.get("cb_1_1")!.state).toBe("in_flight");
    const later = outbox.enqueue([entry(3, A), entry(3, B)], T + 1);
    expect(later.sends).toEqual([]);
    expect(outbox.get("cb_3_0")).toMatchObject({ state: "failed", error: "endpoint answered 410 Gone" });
    expect(outbox.get("cb_3_1")!.state).toBe("pending");
    // The gone endpoint is remembered across a restart (rebuilt from persisted entries).
    const restored = new Outbox(outbox.all(), POLICY);
    expect(restored.enqueue([entry(4, A)], T + 2).sends).toEqual([]);
    expect(restored.get("cb_4_0")!.state).toBe("failed");
  });

  it("stale, repeated or unknown attempt reports change nothing", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1)], T);
    expect(outbox.recordAttempt("cb_1_0", 2, ok, T)).toEqual({ changed: [], sends: [] });
    expect(outbox.recordAttempt("nope", 1, ok, T)).toEqual({ changed: [], sends: [] });
    outbox.recordAttempt("cb_1_0", 1, ok, T);
    expect(outbox.recordAttempt("cb_1_0", 1, http(500), T)).toEqual({ changed: [], sends: [] });
    expect(outbox.get("cb_1_0")!.state).toBe("delivered");
  });

  it("an attempt in flight past its lease is presumed lost and sent again; the lost report is then stale", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1), entry(2)], T);
    expect(outbox.nextDue()).toBe(T + 60_000);
    expect(outbox.tick(T + 59_999)).toEqual({ changed: [], sends: [] });
    const lost = outbox.tick(T + 60_000);
    expect(sent(lost.sends)).toEqual(["cb_1_0#2"]);
    expect(outbox.get("cb_1_0")).toMatchObject({ state: "in_flight", attempts: 2, dueAt: T + 120_000 });
    expect(outbox.recordAttempt("cb_1_0", 1, ok, T + 60_001).changed).toEqual([]);
    expect(sent(outbox.recordAttempt("cb_1_0", 2, ok, T + 60_002).sends)).toEqual(["cb_2_0#1"]);
  });

  it("enqueueing the same callback twice keeps the first", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1)], T);
    const again = outbox.enqueue([entry(1)], T + 1);
    expect(again).toEqual({ changed: [], sends: [] });
    expect(outbox.get("cb_1_0")!.attempts).toBe(1);
  });

  it("rebuilt from persisted entries in any order, it keeps sequence order", () => {
    const persisted = [entry(3), entry(1, A, { state: "delivered", attempts: 1 }), entry(2)];
    const outbox = new Outbox(persisted, POLICY);
    expect(sent(outbox.tick(T).sends)).toEqual(["cb_2_0#1"]);
    // A callback numbered before the ones already queued goes to its place in the line.
    const late = new Outbox([entry(5)], POLICY);
    late.enqueue([entry(4)], T);
    expect(late.get("cb_4_0")!.state).toBe("in_flight");
    expect(late.get("cb_5_0")!.state).toBe("pending");
  });

  it("redeliver starts a new attempt series with the whole schedule", () => {
    const outbox = new Outbox([], { scheduleMs: [1_000], inFlightLeaseMs: 60_000 });
    outbox.enqueue([entry(1)], T);
    outbox.recordAttempt("cb_1_0", 1, http(500), T);
    outbox.tick(T + 1_000);
    outbox.recordAttempt("cb_1_0", 2, http(500), T + 1_000);
    expect(outbox.get("cb_1_0")).toMatchObject({ state: "failed", attempts: 2 });
    expect(outbox.settled()).toBe(true);
    expect(outbox.nextDue()).toBeNull();

    const again = outbox.redeliver("cb_1_0", T + 5_000);
    expect(sent(again!.sends)).toEqual(["cb_1_0#3"]);
    expect(outbox.get("cb_1_0")).toMatchObject({ state: "in_flight", error: null });
    // The new series has its own retry.
    outbox.recordAttempt("cb_1_0", 3, http(500), T + 5_000);
    expect(outbox.get("cb_1_0")).toMatchObject({ state: "pending", dueAt: T + 6_000 });
  });

  it("redeliver refuses a callback that is still pending or in flight, or unknown", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1), entry(2)], T);
    expect(outbox.redeliver("cb_1_0", T)).toBeNull();
    expect(outbox.redeliver("cb_2_0", T)).toBeNull();
    expect(outbox.redeliver("missing", T)).toBeNull();
  });

  it("redeliver after 410 Gone opens the endpoint again", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1)], T);
    outbox.recordAttempt("cb_1_0", 1, http(410), T);
    expect(sent(outbox.redeliver("cb_1_0", T + 1)!.sends)).toEqual(["cb_1_0#2"]);
    outbox.recordAttempt("cb_1_0", 2, ok, T + 2);
    expect(outbox.enqueue([entry(2)], T + 3).sends).toEqual([{ id: "cb_2_0", endpoint: A, attempt: 1 }]);
  });

  it("an endpoint opened again by a redelivery stays open when the outbox is reloaded (a coordinator restart)", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1), entry(2), entry(3)], T);
    outbox.recordAttempt("cb_1_0", 1, http(410), T);
    expect(outbox.get("cb_3_0")).toMatchObject({ state: "failed", error: "endpoint answered 410 Gone" });
    const reopened = outbox.redeliver("cb_1_0", T + 1)!;
    // The callbacks the 410 failed stay failed, under a text that no longer closes the endpoint.
    expect(reopened.changed.filter((changed) => changed.id !== "cb_1_0").map((changed) => [changed.id, changed.state, changed.error])).toEqual([
      ["cb_2_0", "failed", "endpoint answered 410 Gone (opened again by a redelivery)"],
      ["cb_3_0", "failed", "endpoint answered 410 Gone (opened again by a redelivery)"],
    ]);
    const reloaded = new Outbox(outbox.all(), POLICY);
    reloaded.recordAttempt("cb_1_0", 2, ok, T + 2);
    expect(reloaded.enqueue([entry(4)], T + 3).sends).toEqual([{ id: "cb_4_0", endpoint: A, attempt: 1 }]);

    // Without a redelivery a reloaded outbox keeps the endpoint closed.
    const closed = new Outbox([], POLICY);
    closed.enqueue([entry(1)], T);
    closed.recordAttempt("cb_1_0", 1, http(410), T);
    expect(new Outbox(closed.all(), POLICY).enqueue([entry(2)], T + 1)).toMatchObject({ sends: [], changed: [{ id: "cb_2_0", state: "failed" }] });
  });

  it("redeliver waits while a later callback of the same endpoint is in flight", () => {
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1), entry(2)], T);
    outbox.recordAttempt("cb_1_0", 1, ok, T);
    expect(outbox.get("cb_2_0")!.state).toBe("in_flight");
    const again = outbox.redeliver("cb_1_0", T + 1)!;
    expect(again.sends).toEqual([]);
    expect(outbox.get("cb_1_0")!.state).toBe("pending");
    expect(sent(outbox.recordAttempt("cb_2_0", 1, ok, T + 2).sends)).toEqual(["cb_1_0#2"]);
  });
});

describe("Outbox under any interleaving (property)", () => {
  type Op =
    | { op: "enqueue"; endpoint: number }
    | { op: "report"; pick: number; outcome: number; stale: boolean }
    | { op: "tick"; advance: number }
    | { op: "redeliver"; pick: number };

  const ops = fc.array(
    fc.oneof(
      { arbitrary: fc.record({ op: fc.constant("enqueue" as const), endpoint: fc.nat({ max: 2 }) }), weight: 3 },
      {
        arbitrary: fc.record({ op: fc.constant("report" as const), pick: fc.nat(), outcome: fc.nat({ max: 5 }), stale: fc.boolean() }),
        weight: 5,
      },
      { arbitrary: fc.record({ op: fc.constant("tick" as const), advance: fc.constantFrom(0, 1_000, 5_000, 60_000, 400_000) }), weight: 2 },
      { arbitrary: fc.record({ op: fc.constant("redeliver" as const), pick: fc.nat() }), weight: 2 },
    ),
    { maxLength: 120 },
  );
  const OUTCOMES: AttemptOutcome[] = [ok, http(500), network, http(429, 20_000), http(410), http(204)];
  const ENDPOINTS = ["https://e0.example/", "https://e1.example/", "https://e2.example/"];

  it("keeps one attempt in flight per endpoint, starts callbacks in sequence order, and settles", () => {
    fc.assert(
      fc.property(ops, (script: Op[]) => {
        const outbox = new Outbox([], POLICY);
        let now = T;
        let sequence = 0;
        const ids: string[] = [];
        /** Attempts handed to the transport and not yet answered. */
        const outstanding: Send[] = [];
        const firstStarted = new Map<string, number>();
        /**
         * Callbacks the client redelivered: their first attempt may come after a later callback's (a 410 fails
         * the rest of the line unattempted, and the client may then redeliver them in any order it likes).
         */
        const redelivered = new Set<string>();

        const check = (change: { sends: Send[] }): void => {
          for (const send of change.sends) {
            const started = outbox.get(send.id)!;
            expect(started).toMatchObject({ state: "in_flight", attempts: send.attempt, endpoint: send.endpoint });
            for (const other of outbox.all()) {
              if (other.endpoint !== send.endpoint || other.id === send.id) continue;
              expect(other.state, `${other.id} is in flight beside ${send.id}`).not.toBe("in_flight");
              if (other.sequence < started.sequence) expect(other.state).not.toBe("pending");
            }
            if (!firstStarted.has(send.id)) {
              // The first attempt of each callback of one endpoint starts in sequence order.
              for (const [id, seq] of firstStarted) {
                if (outbox.get(id)!.endpoint === send.endpoint && !redelivered.has(send.id) && !redelivered.has(id)) expect(seq).toBeLessThan(started.sequence);
              }
              firstStarted.set(send.id, started.sequence);
            }
            outstanding.push(send);
          }
          for (const endpoint of ENDPOINTS) {
            expect(outbox.all().filter((e) => e.endpoint === endpoint && e.state === "in_flight").length).toBeLessThanOrEqual(1);
          }
        };

        for (const step of script) {
          switch (step.op) {
            case "enqueue": {
              sequence++;
              const id = `cb_${sequence}`;
              ids.push(id);
              check(outbox.enqueue([entry(sequence, ENDPOINTS[step.endpoint]!, { id })], now));
              break;
            }
            case "report": {
              if (outstanding.length === 0) break;
              const index = step.pick % outstanding.length;
              const send = outstanding[index]!;
              if (!step.stale) outstanding.splice(index, 1);
              check(outbox.recordAttempt(send.id, send.attempt, OUTCOMES[step.outcome]!, now));
              break;
            }
            case "tick":
              now += step.advance;
              check(outbox.tick(now));
              break;
            case "redeliver": {
              if (ids.length === 0) break;
              const id = ids[step.pick % ids.length]!;
              const change = outbox.redeliver(id, now);
              if (change) {
                redelivered.add(id);
                check(change);
              }
              break;
            }
          }
        }

        // Then the receivers recover: every attempt succeeds and time runs on. Everything settles.
        for (let round = 0; round < 200 && !outbox.settled(); round++) {
          const send = outstanding.shift();
          if (send) check(outbox.recordAttempt(send.id, send.attempt, ok, now));
          else {
            now = Math.max(now, outbox.nextDue() ?? now);
            check(outbox.tick(now));
          }
        }
        expect(outbox.settled()).toBe(true);
        expect(outbox.all().map((e) => e.id).sort()).toEqual([...ids].sort());
        for (const stored of outbox.all()) expect(["delivered", "failed"]).toContain(stored.state);
      }),
      { numRuns: Number(process.env.OUTBOX_RUNS ?? 300) },
    );
  });
});

describe("runs: several callbacks of a line under one lease", () => {
  const policy = { scheduleMs: [5_000, 60_000], inFlightLeaseMs: 20_000, runLength: 3 };
  const entry = (sequence: number, endpoint = "https://a.example/hook"): OutboxEntry => ({
    id: `cb_j_${sequence}_0`,
    endpoint,
    sequence,
    event: "task.start",
    state: "pending",
    attempts: 0,
    dueAt: null,
    error: null,
  });
  const ok = { status: 200, retryAfterMs: null, error: null };

  it("start the head and the pending callbacks behind it, up to the run length, in sequence order", () => {
    const outbox = new Outbox([], policy);
    const change = outbox.enqueue([1, 2, 3, 4].map((sequence) => entry(sequence)), 0);
    expect(change.sends.map((send) => send.id)).toStrictEqual(["cb_j_1_0", "cb_j_2_0", "cb_j_3_0"]);
    expect(outbox.get("cb_j_4_0")?.state).toBe("pending");
    // The run's callbacks report one by one; the line starts its next run only once the last is reported.
    expect(outbox.recordAttempt("cb_j_1_0", 1, ok, 1).sends).toStrictEqual([]);
    expect(outbox.recordAttempt("cb_j_2_0", 1, ok, 2).sends).toStrictEqual([]);
    expect(outbox.recordAttempt("cb_j_3_0", 1, ok, 3).sends.map((send) => send.id)).toStrictEqual(["cb_j_4_0"]);
  });

  it("hand back the rest of a run after a failure: they wait behind the retry, their attempts not counted", () => {
    const outbox = new Outbox([], policy);
    outbox.enqueue([1, 2, 3].map((sequence) => entry(sequence)), 0);
    expect(outbox.recordAttempt("cb_j_1_0", 1, { status: 500, retryAfterMs: null, error: "HTTP 500" }, 10).sends).toStrictEqual([]);
    outbox.release("cb_j_2_0", 1, 10);
    const released = outbox.release("cb_j_3_0", 1, 10);
    expect(released.sends).toStrictEqual([]);
    expect(outbox.get("cb_j_2_0")).toMatchObject({ state: "pending", attempts: 0, dueAt: null });
    // When the retry is due, the line goes out again from the failed callback, in order.
    expect(outbox.tick(5_010).sends.map((send) => [send.id, send.attempt])).toStrictEqual([
      ["cb_j_1_0", 2],
      ["cb_j_2_0", 1],
      ["cb_j_3_0", 1],
    ]);
  });

  it("fail the rest of a run when its endpoint answers 410", () => {
    const outbox = new Outbox([], policy);
    outbox.enqueue([1, 2, 3].map((sequence) => entry(sequence)), 0);
    outbox.recordAttempt("cb_j_1_0", 1, { status: 410, retryAfterMs: null, error: "HTTP 410" }, 10);
    for (const id of ["cb_j_2_0", "cb_j_3_0"]) expect(outbox.get(id)?.state).toBe("failed");
    expect(outbox.release("cb_j_2_0", 1, 11)).toStrictEqual({ changed: [], sends: [] });
    expect(outbox.settled()).toBe(true);
  });

  it("are presumed lost together when their lease passes, and go out again in order", () => {
    const outbox = new Outbox([], policy);
    outbox.enqueue([1, 2].map((sequence) => entry(sequence)), 0);
    expect(outbox.tick(20_001).sends.map((send) => [send.id, send.attempt])).toStrictEqual([
      ["cb_j_1_0", 2],
      ["cb_j_2_0", 2],
    ]);
  });
});

describe("nextDue", () => {
  it("is when a line's head may start, not the past due time of a callback waiting behind it", () => {
    // Found by the property above (seed -1420648680): a redelivered earlier callback retrying in 5 s heads the
    // line, while the later one, presumed lost, has a due time already past.
    const outbox = new Outbox([], POLICY);
    outbox.enqueue([entry(1)], T);
    outbox.recordAttempt("cb_1_0", 1, ok, T);
    outbox.enqueue([entry(2)], T);
    outbox.redeliver("cb_1_0", T);
    const lost = T + 400_000;
    expect(outbox.tick(lost).sends).toEqual([{ id: "cb_1_0", endpoint: A, attempt: 2 }]);
    outbox.recordAttempt("cb_1_0", 2, http(500), lost);
    expect(outbox.get("cb_2_0")).toMatchObject({ state: "pending", dueAt: lost });
    expect(outbox.nextDue()).toBe(lost + POLICY.scheduleMs[0]!);
    expect(outbox.tick(lost + POLICY.scheduleMs[0]!).sends).toEqual([{ id: "cb_1_0", endpoint: A, attempt: 3 }]);
  });
});
