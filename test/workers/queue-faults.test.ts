import { env } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { withQueueFaults } from "../../src/faults/queue-faults";

/**
 * Queue fault injection is a test-only build switch (wrangler.toml `[define] __QUEUE_FAULTS__ = "false"`).
 * This suite runs the engine's code as every build but the chaos drill's compiles it: there, the `FAULTS`
 * var must change nothing. (test/e2e/fault-switch.test.ts checks the deployable bundle itself.)
 */

/** A queue that records what reaches it. */
function recordingQueue(): { queue: Queue; bodies: unknown[] } {
  const bodies: unknown[] = [];
  const none = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
  const queue: Queue = {
    metrics: async () => none.metadata.metrics,
    send: async (body) => (bodies.push(body), none),
    sendBatch: async (messages) => {
      for (const message of messages) bodies.push(message.body);
      return none;
    },
  };
  return { queue, bodies };
}

describe("with the build switch off", () => {
  test("FAULTS leaves the engine's own bindings as they are", () => {
    const faulty = { ...env, FAULTS: "drop=1,duplicate=1" };
    const wrapped = withQueueFaults(faulty);
    expect(wrapped).toBe(faulty);
    expect(wrapped.TASK_QUEUE).toBe(env.TASK_QUEUE);
    expect(wrapped.CALLBACK_QUEUE).toBe(env.CALLBACK_QUEUE);
  });

  test("every message sent through the bindings arrives exactly once, whatever FAULTS says", async () => {
    const tasks = recordingQueue();
    const callbacks = recordingQueue();
    for (const FAULTS of ["drop=1", "duplicate=1", "drop=0.5,duplicate=0.5", "not a rate"]) {
      const wrapped = withQueueFaults({ TASK_QUEUE: tasks.queue, CALLBACK_QUEUE: callbacks.queue, FAULTS });
      await wrapped.TASK_QUEUE.send({ n: 1 });
      await wrapped.TASK_QUEUE.sendBatch([{ body: { n: 2 } }, { body: { n: 3 } }]);
      await wrapped.CALLBACK_QUEUE.sendBatch([{ body: { n: 4 } }]);
    }
    expect(tasks.bodies).toStrictEqual(Array.from({ length: 4 }, () => [{ n: 1 }, { n: 2 }, { n: 3 }]).flat());
    expect(callbacks.bodies).toStrictEqual(Array.from({ length: 4 }, () => ({ n: 4 })));
  });
});
