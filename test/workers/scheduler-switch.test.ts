import { afterEach, describe, expect, it, vi } from "vitest";
import { ClientScheduler } from "../../src/scheduler/client-scheduler";
import { call, createClient, jobObject, postJson, waitForJobEnd } from "./helpers";

/**
 * PUT /scheduler `queue_scheduled_jobs` (api.md; reference §5, Scheduler): while it is off a scheduled job
 * stays scheduled when its run_at passes, without the client's ClientScheduler spinning on its alarm; once
 * it is switched on again the job is queued and runs.
 */

function switchSchedule(headers: Record<string, string>, active: boolean): Promise<Response> {
  return call("/scheduler", { method: "PUT", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ schedule: "queue_scheduled_jobs", active }) });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("queue_scheduled_jobs switched off", () => {
  it("holds a due job in scheduled without a hot alarm loop, and runs it once switched on", async () => {
    // The Durable Object runs in the test's isolate: its alarm handler can be counted.
    const alarms = vi.spyOn(ClientScheduler.prototype, "alarm");
    const headers = await createClient("switch-client");
    expect((await switchSchedule(headers, false)).status).toBe(200);
    const response = await postJson("/job", { job: { workflow: "selftest", run_at: new Date(Date.now() + 300).toISOString() }, parameters: { content_id: "held", tasks: 1 } }, headers);
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await jobObject(id, headers)).queue_state).toBe("scheduled");
    // A due entry re-armed a past alarm on every alarm: over a thousand runs a second.
    expect(alarms.mock.calls.length).toBeLessThanOrEqual(3);

    expect((await switchSchedule(headers, true)).status).toBe(200);
    expect(await waitForJobEnd(id, headers)).toMatchObject({ queue_state: "completed", failed: false });
  }, 20_000);
});
