import { describe, expect, test } from "vitest";
import { faultyQueue, parseFaultRates, type FaultReport } from "../../src/faults/faulty-queue";

/** The test-only fault logic of the chaos drill (reached only from a build with the switch on). */

function recordingQueue(): { queue: Queue<number>; sent: MessageSendRequest<number>[] } {
  const sent: MessageSendRequest<number>[] = [];
  const none = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
  return {
    sent,
    queue: {
      metrics: async () => none.metadata.metrics,
      send: async (body, options) => (sent.push({ body, ...options }), none),
      sendBatch: async (messages) => (sent.push(...messages), none),
    },
  };
}

/** A random source that plays back `values` in order. */
const playback = (values: number[]) => () => values.shift() ?? 0.99;

describe("parseFaultRates", () => {
  test("reads drop and duplicate rates; absent means none", () => {
    expect(parseFaultRates(undefined)).toStrictEqual({ drop: 0, duplicate: 0 });
    expect(parseFaultRates("")).toStrictEqual({ drop: 0, duplicate: 0 });
    expect(parseFaultRates("drop=0.05, duplicate=0.1")).toStrictEqual({ drop: 0.05, duplicate: 0.1 });
    expect(parseFaultRates("duplicate=1")).toStrictEqual({ drop: 0, duplicate: 1 });
  });

  test.each(["drop", "drop=", "drop=2", "drop=-0.1", "lose=0.1", "drop=0.1=0.2", "drop=x"])("refuses %j", (text) => {
    expect(() => parseFaultRates(text)).toThrow(/^FAULTS: /);
  });
});

describe("faultyQueue", () => {
  test("drops a message, sends another twice (the copy up to 2 s later), passes the rest; each fault is reported", async () => {
    const { queue, sent } = recordingQueue();
    const faults: Parameters<FaultReport>[] = [];
    // Message 1: dropped. Message 2: not dropped, duplicated, copy delayed 2 s. Message 3: passes.
    const random = playback([0.01, 0.5, 0.01, 0.99, 0.5, 0.5]);
    const faulty = faultyQueue(queue, "tasks", { drop: 0.1, duplicate: 0.1 }, random, (...fault) => faults.push(fault));
    await faulty.sendBatch([{ body: 1 }, { body: 2, delaySeconds: 1 }, { body: 3 }]);
    expect(sent).toStrictEqual([{ body: 2, delaySeconds: 1 }, { body: 2, delaySeconds: 3 }, { body: 3 }]);
    expect(faults).toStrictEqual([
      ["drop", "tasks"],
      ["duplicate", "tasks"],
    ]);
  });

  test("a batch whose every message is dropped sends nothing", async () => {
    const { queue, sent } = recordingQueue();
    const faulty = faultyQueue(queue, "callbacks", { drop: 1, duplicate: 0 }, Math.random, () => undefined);
    await faulty.sendBatch([{ body: 1 }, { body: 2 }]);
    await faulty.send(3);
    expect(sent).toStrictEqual([]);
  });

  test("with no rates, every message goes out once, with its options", async () => {
    const { queue, sent } = recordingQueue();
    const faulty = faultyQueue(queue, "tasks", { drop: 0, duplicate: 0 }, Math.random, () => undefined);
    await faulty.send(1, { delaySeconds: 4 });
    await faulty.sendBatch([{ body: 2 }]);
    expect(sent).toStrictEqual([{ body: 1, delaySeconds: 4 }, { body: 2 }]);
  });
});
