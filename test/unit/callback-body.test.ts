import { describe, expect, it } from "vitest";
import { callbackBody, noticeEvent, type JobIdentity } from "../../src/domain/callback-body";
import type { Notice } from "../../src/domain/job-events";

const job: JobIdentity = { jobId: "job_01", client: "demo-client", workflow: "voddelete", contentId: "demo1" };
const TIME = Date.UTC(2026, 10, 28, 10, 0, 1, 123);

const taskNotice = (patch: Partial<Extract<Notice, { kind: "task" }>> = {}): Notice => ({
  kind: "task",
  sequence: 3,
  event: "complete",
  task: "delete_folder",
  taskId: "task_01",
  attempt: 1,
  message: "",
  time: TIME,
  ...patch,
});

const jobNotice = (patch: Partial<Extract<Notice, { kind: "job" }>> = {}): Notice => ({
  kind: "job",
  sequence: 6,
  status: "completed",
  message: "",
  time: TIME,
  ...patch,
});

describe("callbackBody", () => {
  it("task callback: every field of callbacks.md, in its order", () => {
    const body = callbackBody(job, taskNotice(), { ref: "r-1" }, {});
    expect(JSON.stringify(body)).toBe(
      JSON.stringify({
        job_id: "job_01",
        task_id: "task_01",
        task_name: "delete_folder",
        workflow: "voddelete",
        event: "complete",
        content_id: "demo1",
        message: "",
        time: "2026-11-28T10:00:01.123Z",
        client: "demo-client",
        sequence: 3,
        attempt: 1,
      }),
    );
  });

  it("task fail callback carries the error text and whether another attempt follows", () => {
    const retrying = callbackBody(job, taskNotice({ event: "fail", message: "disk full", retrying: true, attempt: 2 }), null, {});
    expect(retrying).toMatchObject({ event: "fail", message: "disk full", retrying: true, attempt: 2 });
    expect(Object.keys(retrying).at(-1)).toBe("retrying");
    const final = callbackBody(job, taskNotice({ event: "fail", message: "disk full", retrying: false }), null, {});
    expect(final.retrying).toBe(false);
    expect("retrying" in callbackBody(job, taskNotice({ event: "start" }), null, {})).toBe(false);
  });

  it("the workflow's extra task fields come after the standard ones; the job's custom_data is not in task bodies", () => {
    const body = callbackBody(job, taskNotice(), { ref: "r-1" }, { message: "ignored for tasks" }, { files: ["a.mp4"] });
    expect(Object.keys(body)).toEqual([
      "job_id",
      "task_id",
      "task_name",
      "workflow",
      "event",
      "content_id",
      "message",
      "time",
      "client",
      "sequence",
      "attempt",
      "files",
    ]);
    expect(body.message).toBe("");
    expect(body.files).toEqual(["a.mp4"]);
  });

  it("job callback (completed): common fields, then the workflow's result", () => {
    const body = callbackBody(job, jobNotice(), { ref: "r-1" }, { message: "demo1", files: ["demo1/a.ism"] });
    expect(JSON.stringify(body)).toBe(
      JSON.stringify({
        job_id: "job_01",
        status: "completed",
        workflow: "voddelete",
        content_id: "demo1",
        custom_data: { ref: "r-1" },
        time: "2026-11-28T10:00:01.123Z",
        client: "demo-client",
        sequence: 6,
        message: "demo1",
        files: ["demo1/a.ism"],
      }),
    );
  });

  it("job callback without a result message has message \"\"", () => {
    expect(callbackBody(job, jobNotice(), undefined, {}).message).toBe("");
  });

  it("custom_data is null when absent and echoed exactly otherwise, falsy values included", () => {
    expect(callbackBody(job, jobNotice(), undefined, {}).custom_data).toBeNull();
    expect(callbackBody(job, jobNotice(), null, {}).custom_data).toBeNull();
    for (const value of [0, false, "", [], { nested: { a: [1, { b: null }] } }]) {
      expect(callbackBody(job, jobNotice(), value, {}).custom_data).toEqual(value);
    }
  });

  it("failed job: status failed and the failure message, whatever the result says", () => {
    const body = callbackBody(job, jobNotice({ status: "failed", message: "folder demo1 does not exist" }), undefined, {
      message: "from the workflow",
    });
    expect(body).toMatchObject({ status: "failed", message: "folder demo1 does not exist", custom_data: null });
    const cancelled = callbackBody(job, jobNotice({ status: "failed", message: "job cancelled" }), undefined, {});
    expect(Object.keys(cancelled)).toEqual(["job_id", "status", "workflow", "content_id", "custom_data", "time", "client", "sequence", "message"]);
    expect(cancelled.message).toBe("job cancelled");
  });

  it("content_id is null for a job without one", () => {
    expect(callbackBody({ ...job, contentId: null }, jobNotice(), undefined, {}).content_id).toBeNull();
    expect(callbackBody({ ...job, contentId: null }, taskNotice(), undefined, {}).content_id).toBeNull();
  });
});

describe("noticeEvent", () => {
  it("names the events callback rules filter on", () => {
    expect(noticeEvent(taskNotice({ event: "start" }))).toBe("task.start");
    expect(noticeEvent(taskNotice({ event: "complete" }))).toBe("task.complete");
    expect(noticeEvent(taskNotice({ event: "fail" }))).toBe("task.fail");
    expect(noticeEvent(jobNotice({ status: "failed" }))).toBe("job.end");
  });
});
