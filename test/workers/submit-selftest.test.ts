import { describe, expect, it } from "vitest";
import { call, createClient, postJson, waitFor } from "./helpers";

describe("a selftest job in workerd", () => {
  it("runs a 3-task chain to completion through the real queues and coordinator", async () => {
    const headers = await createClient("acme");
    const response = await postJson("/job", { job: { workflow: "selftest" }, parameters: { content_id: "c1", tasks: 3 } }, headers);
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string; job_id: string; result: string };
    expect(accepted.result).toBe("accepted");
    expect(accepted.job_id).toBe(accepted.id);
    const job = await waitFor(
      async () => (await (await call(`/jobs/${accepted.id}`, { headers })).json()) as { queue_state: string; failed: boolean; progress: number; tasks: { task_name: string; state: string }[] },
      (body) => body.queue_state === "completed",
    );
    expect(job.failed).toBe(false);
    expect(job.progress).toBe(100);
    expect(job.tasks.map((task) => [task.task_name, task.state])).toEqual([
      ["task_1", "completed"],
      ["task_2", "completed"],
      ["task_3", "completed"],
    ]);
  });
});
