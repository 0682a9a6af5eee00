import { z } from "zod";
import { PoolName } from "../domain/client-config";
import { commonParameters, ContentId } from "./common";
import { defineWorkflow, type TaskDefinition } from "./definition";

export const SelftestParameters = z
  .looseObject({
    content_id: ContentId,
    tasks: z.int().min(1).max(1000).default(3),
    shape: z.enum(["chain", "fanout"]).default("chain"),
    task_ms: z.int().min(0).max(60_000).default(0),
    fail_task: z.string().nullable().default(null),
    fail_times: z.int().min(0).max(100).default(1),
    // ext: where its tasks run: `edge` (the queue consumer) or a worker pool (workers.md), to try remote workers.
    runs_on: z.union([z.literal("edge"), PoolName]).optional(),
    ...commonParameters,
  })
  .refine((p) => p.fail_task === null || taskIndex(p.fail_task, p.tasks) !== null, {
    path: ["fail_task"],
    message: "fail_task must name one of the job's tasks (task_1 … task_N)",
  });
export type SelftestParameters = z.output<typeof SelftestParameters>;

export interface SelftestInput {
  task_ms: number;
  /** How many attempts of this task fail before one succeeds (0: none). */
  fail_times: number;
}

function taskIndex(name: string, count: number): number | null {
  const match = /^task_([1-9][0-9]*)$/.exec(name);
  const index = match ? Number(match[1]) : NaN;
  return index >= 1 && index <= count ? index : null;
}

/** The engine's own health and load check: N tasks that wait and fail on request, touching no storage. */
export const selftest = defineWorkflow({
  name: "selftest",
  description:
    "The engine's own health and load check: a chain or fan-out of 1–1000 tasks that each wait task_ms and fail on request.",
  parameters: SelftestParameters,
  example: { content_id: "selftest-1", tasks: 3, shape: "chain", task_ms: 100 },
  tasks: (params) =>
    Array.from({ length: params.tasks }, (_, i): TaskDefinition<SelftestParameters> => {
      const name = `task_${i + 1}`;
      return {
        name,
        executor: "selftest.wait",
        runsOn: params.runs_on,
        needs: params.shape === "chain" && i > 0 ? [`task_${i}`] : [],
        timeoutMs: params.task_ms + 10_000,
        input: (p): SelftestInput => ({ task_ms: p.task_ms, fail_times: p.fail_task === name ? p.fail_times : 0 }),
      };
    }),
  result: (params) => ({ message: `${params.tasks} tasks completed (${params.shape})` }),
});
