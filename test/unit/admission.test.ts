import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareQueued, jobsToStart, queuePositions, type QueuedJob } from "../../src/domain/admission";

const job = (jobId: string, priority: number, submittedAt: number): QueuedJob => ({ jobId, priority, submittedAt });

describe("admission control", () => {
  it("starts by priority, then submission time, while slots are free", () => {
    const queued = [job("late-urgent", 1, 30), job("early-normal", 5, 10), job("early-urgent", 1, 20), job("low", 9, 0)];
    expect(jobsToStart(queued, 0, { maxJobs: 3, prioritySlots: 0, priorityThreshold: 5 }).map((j) => j.jobId)).toEqual([
      "early-urgent",
      "late-urgent",
      "early-normal",
    ]);
    expect(jobsToStart(queued, 3, { maxJobs: 3, prioritySlots: 0, priorityThreshold: 5 })).toEqual([]);
  });

  it("keeps reserved slots for jobs at or under the priority threshold (reference example: 5 slots, 2 reserved)", () => {
    const limits = { maxJobs: 5, prioritySlots: 2, priorityThreshold: 3 };
    const low = [job("l1", 8, 1), job("l2", 8, 2), job("l3", 8, 3), job("l4", 8, 4)];
    expect(jobsToStart(low, 0, limits).map((j) => j.jobId)).toEqual(["l1", "l2", "l3"]);
    expect(jobsToStart([...low, job("p1", 3, 9), job("p2", 2, 10)], 3, limits).map((j) => j.jobId)).toEqual(["p2", "p1"]);
    // A blocked low-priority job does not block a high-priority one behind it.
    expect(jobsToStart([job("l", 9, 1), job("p", 1, 2)], 3, limits).map((j) => j.jobId)).toEqual(["p"]);
  });

  it("numbers the queue from 1 in start order", () => {
    const positions = queuePositions([job("b", 5, 2), job("a", 5, 1), job("c", 1, 3)]);
    expect([...positions.entries()]).toEqual([
      ["c", 1],
      ["a", 2],
      ["b", 3],
    ]);
  });

  it("never exceeds max_jobs, nor the general slots for jobs above the threshold (property)", () => {
    const queuedJob = fc.record({ jobId: fc.uuid(), priority: fc.integer({ min: 1, max: 10 }), submittedAt: fc.nat() });
    fc.assert(
      fc.property(
        fc.uniqueArray(queuedJob, { selector: (j) => j.jobId, maxLength: 30 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        (queued, maxJobs, prioritySlots, priorityThreshold, started) => {
          const limits = { maxJobs, prioritySlots, priorityThreshold };
          const chosen = jobsToStart(queued, started, limits);
          expect(started + chosen.length).toBeLessThanOrEqual(Math.max(started, maxJobs));
          const general = maxJobs - Math.min(prioritySlots, maxJobs);
          chosen.forEach((picked, index) => {
            if (picked.priority > priorityThreshold) expect(started + index).toBeLessThan(general);
          });
          // Chosen jobs come in queue order, and no skipped job of the same class ranks before a chosen one.
          expect([...chosen].sort(compareQueued)).toEqual(chosen);
          if (started + chosen.length < maxJobs) {
            const left = queued.filter((q) => !chosen.includes(q));
            for (const rest of left) expect(rest.priority > priorityThreshold).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
