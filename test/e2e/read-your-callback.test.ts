import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isJobCallback, jobCallbackArrived, type Callback } from "./callbacks";
import { Engine, type Client, type JobObject } from "./harness";
import { Receiver } from "./receiver";

/**
 * Read your callback (architecture.md, "How a job flows" 8): a receiver that gets a callback and at once
 * calls GET /jobs/{id} sees at least the state that callback reported, for every callback of a chain and
 * of a fan-out: the coordinator stores a change before it sends the callback, and answers the read itself.
 * Listing (GET /jobs) reads the D1 job index, which may lag: the README bounds it at 1 s after the
 * job-level change, and the last test holds it to that.
 */

const LISTING_LAG_MS = 1_000;

let engine: Engine;
let receiver: Receiver;
let client: Client;

beforeAll(async () => {
  receiver = await Receiver.start();
  engine = await Engine.start({ name: "read-your-callback" });
  client = await engine.createClient("e2e-read-your-callback");
  await engine.setSetting(client, "rate_limit", "1000");
  await engine.setSetting(client, "rate_burst", "1000");
});

afterAll(async () => {
  await engine?.destroy();
  await receiver?.stop();
});

/** How far along a task is, in the order its states come; a callback's state must not be ahead of the read. */
const TASK_RANK: Record<string, number> = { pending: 0, dispatched: 0, running: 1, retrying: 2, completed: 3, failed: 3, skipped: 3, cancelled: 3 };
const EVENT_RANK: Record<string, number> = { start: 1, fail: 2, complete: 3 };

/**
 * Runs a job whose receiver reads the job back the moment each callback arrives (before answering it);
 * returns each callback with the job as that read saw it.
 */
async function readOnEveryCallback(path: string, parameters: Record<string, unknown>): Promise<{ callback: Callback; seen: JobObject }[]> {
  const reads: Promise<{ callback: Callback; seen: JobObject }>[] = [];
  receiver.respondWith((request) => {
    const callback = request.body as Callback;
    if (request.path === path) reads.push(engine.getJob(client, callback.job_id).then((seen) => ({ callback, seen })));
    return 200;
  });
  const accepted = await engine.submit(client, "selftest", { ...parameters, rest_endpoints: [receiver.url(path)] });
  await receiver.waitFor(jobCallbackArrived(accepted.id, path), 30_000);
  return Promise.all(reads);
}

function expectSeenAtLeast({ callback, seen }: { callback: Callback; seen: JobObject }): void {
  if (isJobCallback(callback)) {
    expect(seen.queue_state, `job.end ${callback.status}`).toBe("completed");
    expect(seen.failed).toBe(callback.status === "failed");
    return;
  }
  const task = seen.tasks.find((candidate) => candidate.task_id === callback.task_id)!;
  const what = `${callback.task_name} ${callback.event} (attempt ${callback.attempt}) read as ${task.state}`;
  expect(TASK_RANK[task.state]!, what).toBeGreaterThanOrEqual(EVENT_RANK[callback.event]!);
  expect(task.attempts, what).toBeGreaterThanOrEqual(callback.attempt);
  if (callback.event === "complete") expect(task.state, what).toBe("completed");
}

describe("a receiver that reads the job on every callback", () => {
  test("of a chain sees each callback's state or later", async () => {
    const reads = await readOnEveryCallback("/chain", { content_id: "ryc-chain", tasks: 5, shape: "chain" });
    expect(reads).toHaveLength(11);
    for (const read of reads) expectSeenAtLeast(read);
  });

  test("of a fan-out sees each callback's state or later", async () => {
    const reads = await readOnEveryCallback("/fanout", { content_id: "ryc-fanout", tasks: 8, shape: "fanout" });
    expect(reads).toHaveLength(17);
    for (const read of reads) expectSeenAtLeast(read);
  });

  test(`finds the ended job in GET /jobs within ${LISTING_LAG_MS} ms of its job callback`, async () => {
    const path = "/listing";
    receiver.respondWith(() => 200);
    const accepted = await engine.submit(client, "selftest", { content_id: "ryc-listing", tasks: 2, shape: "chain", rest_endpoints: [receiver.url(path)] });
    await receiver.waitFor(jobCallbackArrived(accepted.id, path), 30_000);
    const arrived = receiver.at(path).find((request) => isJobCallback(request.body as Callback))!.receivedAt;
    let listed: JobObject | undefined;
    while (Date.now() - arrived < 5_000) {
      const response = await engine.request<JobObject[]>("GET", `/jobs?job_ids=${accepted.id}`, { headers: client.headers });
      listed = response.body.find((job) => job.id === accepted.id);
      if (listed?.queue_state === "completed") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const lag = Date.now() - arrived;
    expect(listed?.queue_state).toBe("completed");
    expect(lag, `listing showed the job completed ${lag} ms after its job callback`).toBeLessThanOrEqual(LISTING_LAG_MS);
  });
});
