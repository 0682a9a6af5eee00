import { describe, expect, it } from "vitest";
import { call, createClient, jobObject, postJson, rows, submitSelftest, waitFor, waitForJobEnd } from "./helpers";

async function setting(headers: Record<string, string>, name: string, value: string): Promise<void> {
  const response = await postJson("/settings", { name, setting: value }, headers);
  expect(response.status).toBe(200);
}

function patch(id: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return call(`/jobs/${id}`, { method: "PATCH", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
}

describe("admission control (ClientScheduler)", () => {
  it("starts at most max_jobs at once, higher priority first, and gives queued jobs their position", async () => {
    const headers = await createClient("admit-1");
    await setting(headers, "max_jobs", "1");
    const first = await submitSelftest(headers, { content_id: "a", tasks: 1, task_ms: 400 });
    await waitFor(() => jobObject(first, headers), (job) => job.queue_state === "started");
    const low = await submitSelftest(headers, { content_id: "low", tasks: 1 }, { priority: 8 });
    const high = await submitSelftest(headers, { content_id: "high", tasks: 1 }, { priority: 2 });
    const queuedHigh = await jobObject(high, headers);
    expect(queuedHigh).toMatchObject({ queue_state: "queued", position: 1, top_of_queue: true });
    expect(await jobObject(low, headers)).toMatchObject({ queue_state: "queued", position: 2, top_of_queue: false });
    await Promise.all([first, low, high].map((id) => waitForJobEnd(id, headers)));
    const started = await rows<{ id: string; started_at: string; ended_at: string }>(
      `SELECT id, started_at, ended_at FROM jobs WHERE client = 'admit-1' ORDER BY started_at`,
    );
    expect(started.map((row) => row.id)).toEqual([first, high, low]);
    for (let i = 1; i < started.length; i++) expect(started[i]!.started_at >= started[i - 1]!.ended_at).toBe(true);
  });

  it("pauses, resumes and breaks a job, with 409 for changes its state forbids", async () => {
    const headers = await createClient("admit-2");
    await setting(headers, "max_jobs", "1");
    const blocker = await submitSelftest(headers, { content_id: "b", tasks: 1, task_ms: 300 });
    const waiting = await submitSelftest(headers, { content_id: "w", tasks: 2 });
    let response = await patch(waiting, { queue_state: "paused", priority: 3 }, headers);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: waiting, result: "Performed updates: priority, queue_state" });
    await waitForJobEnd(blocker, headers);
    expect((await jobObject(waiting, headers)).queue_state).toBe("paused");
    expect((await patch(waiting, { queue_state: "queued" }, headers)).status).toBe(200);
    const done = await waitForJobEnd(waiting, headers);
    expect(done).toMatchObject({ queue_state: "completed", failed: false, priority: 3 });
    response = await patch(waiting, { queue_state: "paused" }, headers);
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: "conflict" });
    expect((await patch(waiting, { persist: true }, headers)).status).toBe(200);

    const doomed = await submitSelftest(headers, { content_id: "d", tasks: 3, task_ms: 200 });
    await waitFor(() => jobObject(doomed, headers), (job) => job.queue_state === "started");
    expect((await patch(doomed, { run_at: "2030-01-01T00:00:00Z" }, headers)).status).toBe(409);
    expect((await patch(doomed, { queue_state: "broken" }, headers)).status).toBe(200);
    const broken = await waitFor(() => jobObject(doomed, headers), (job) => job.queue_state === "broken");
    expect(broken.failed).toBe(true);
  });

  it("reruns a job as a new one (the original broken) and retries a failed job in place", async () => {
    const headers = await createClient("admit-3");
    await setting(headers, "retry_limit", "0");
    const failing = await submitSelftest(headers, { content_id: "f", tasks: 3, fail_task: "task_2", fail_times: 1 });
    const failed = await waitForJobEnd(failing, headers);
    expect(failed).toMatchObject({ failed: true });
    const retried = await postJson(`/jobs/${failing}/retry`, {}, headers);
    expect(retried.status).toBe(202);
    const after = await waitFor(() => jobObject(failing, headers), (job) => job.queue_state === "completed" && !job.failed);
    expect(after.tasks!.map((task) => [task.task_name, task.state, task.attempts])).toEqual([
      ["task_1", "completed", 1],
      ["task_2", "completed", 2],
      ["task_3", "completed", 1],
    ]);
    expect((await postJson(`/jobs/${failing}/retry`, {}, headers)).status).toBe(409);

    const rerun = await postJson(`/jobs/${failing}/rerun`, {}, headers);
    expect(rerun.status).toBe(202);
    const body = (await rerun.json()) as { id: string; rerun_of: string };
    expect(body.rerun_of).toBe(failing);
    expect((await jobObject(failing, headers)).queue_state).toBe("broken");
    expect(await waitForJobEnd(body.id, headers)).toMatchObject({ queue_state: "completed" });
  });

  it("holds a job with a future run_at in scheduled", async () => {
    const headers = await createClient("admit-4");
    const response = await postJson("/job", { job: { workflow: "selftest", run_at: "2099-01-01T00:00:00.000" }, parameters: { content_id: "s" } }, headers);
    expect(response.status).toBe(202);
    const { id, queue_state } = (await response.json()) as { id: string; queue_state: string };
    expect(queue_state).toBe("scheduled");
    expect(await jobObject(id, headers)).toMatchObject({ queue_state: "scheduled", run_at: "2099-01-01T00:00:00.000Z" });
    expect((await patch(id, { run_at: "2000-01-01T00:00:00Z" }, headers)).status).toBe(200);
    expect(await waitForJobEnd(id, headers)).toMatchObject({ queue_state: "completed" });
  });
});
