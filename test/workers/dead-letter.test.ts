import { describe, expect, it } from "vitest";
import type { CallbackMessage, TaskMessage } from "../../src/queues/messages";
import { createClient, deliverBatch, rows, submitSelftest, waitForJobEnd } from "./helpers";

/** The dead-letter consumers: a message that exhausted its queue retries is recorded, never dropped silently. */

interface DeadLetterRow {
  id: string;
  queue: string;
  body: string;
  attempts: number;
  created_at: string;
  client: string | null;
}

function deadLetters(...ids: string[]): Promise<DeadLetterRow[]> {
  return rows<DeadLetterRow>(
    `SELECT id, queue, body, attempts, created_at, client FROM dead_letters WHERE id IN (${ids.map(() => "?").join(", ")}) ORDER BY id`,
    ...ids,
  );
}

describe("dead-letter consumers", () => {
  it("records every message of a tasks DLQ batch in dead_letters and acks each one", async () => {
    const lost: TaskMessage[] = [
      { jobId: "01JD5Q3Y8Z6K7M8N9P0QRSTVW1", task: "task_1", attempt: 1 },
      { jobId: "01JD5Q3Y8Z6K7M8N9P0QRSTVW2", task: "task_3", attempt: 2 },
    ];
    const result = await deliverBatch(
      "task-engine-tasks-dlq",
      lost.map((body, index) => ({ id: `task-dl-${index}`, body, attempts: 6 })),
    );
    expect(result).toEqual({
      outcome: "ok",
      ackAll: false,
      retryBatch: { retry: false },
      explicitAcks: ["task-dl-0", "task-dl-1"],
      retryMessages: [],
    });
    const recorded = await deadLetters("task-dl-0", "task-dl-1");
    expect(recorded).toEqual(
      lost.map((body, index) => ({
        id: `task-dl-${index}`,
        queue: "task-engine-tasks-dlq",
        body: JSON.stringify(body),
        attempts: 6,
        created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        // These jobs are unknown to D1: no client to charge them to.
        client: null,
      })),
    );
  });

  it("charges a task's dead letter to the client of its job", async () => {
    const headers = await createClient("dlq-owner");
    const jobId = await submitSelftest(headers, { content_id: "dl", tasks: 1 });
    await waitForJobEnd(jobId, headers);
    const lost: TaskMessage = { jobId, task: "task_1", attempt: 1 };
    await deliverBatch("task-engine-tasks-dlq", [{ id: "task-dl-owned", body: lost, attempts: 6 }]);
    expect((await deadLetters("task-dl-owned"))[0]).toMatchObject({ client: "dlq-owner" });
  });

  it("records a callbacks DLQ message with its whole body, once even when it is delivered again", async () => {
    const lost: CallbackMessage = {
      jobId: "01JD5Q3Y8Z6K7M8N9P0QRSTVW3",
      client: "dlq-client",
      endpoint: "https://cms.receiver.invalid/hook",
      deliveries: [{ id: "cb_01JD5Q3Y8Z6K7M8N9P0QRSTVW3_4_0", attempt: 2, body: JSON.stringify({ job_id: "01JD5Q3Y8Z6K7M8N9P0QRSTVW3", event: "complete", sequence: 4 }) }],
    };
    expect(await deliverBatch("task-engine-callbacks-dlq", [{ id: "cb-dl", body: lost, attempts: 6 }])).toMatchObject({
      explicitAcks: ["cb-dl"],
      retryMessages: [],
    });
    expect(await deliverBatch("task-engine-callbacks-dlq", [{ id: "cb-dl", body: lost, attempts: 7 }])).toMatchObject({
      explicitAcks: ["cb-dl"],
      retryMessages: [],
    });
    const [recorded] = await deadLetters("cb-dl");
    expect(recorded).toMatchObject({ queue: "task-engine-callbacks-dlq", attempts: 6, client: "dlq-client" });
    expect(JSON.parse(recorded!.body)).toEqual(lost);
    expect(await deadLetters("cb-dl")).toHaveLength(1);
  });
});
