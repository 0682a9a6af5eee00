import { describe, expect, it } from "vitest";
import { queueBatches } from "../../src/queues/batches";

const message = (chars: number, tag = 0) => ({ body: { tag, text: "x".repeat(chars) } });

describe("queueBatches", () => {
  it("keeps small messages together, at most 100 per batch, in order", () => {
    const messages = Array.from({ length: 250 }, (_, tag) => message(10, tag));
    const batches = queueBatches(messages);
    expect(batches.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(messages);
  });

  it("starts a new batch before the bytes would pass 200 KB", () => {
    const batches = queueBatches([message(90_000, 1), message(90_000, 2), message(90_000, 3)]);
    expect(batches.map((batch) => batch.map((entry) => entry.body.tag))).toEqual([[1, 2], [3]]);
  });

  it("counts bytes, not characters", () => {
    const wide = { body: { text: "é".repeat(60_000) } };
    expect(queueBatches([wide, wide]).map((batch) => batch.length)).toEqual([1, 1]);
  });

  it("gives an empty list nothing to send", () => {
    expect(queueBatches([])).toEqual([]);
  });
});
