import { beforeAll, describe, expect, it } from "vitest";
import {
  call,
  createClient,
  getJson,
  indexed,
  jobObject,
  postJson,
  rows,
  submitSelftest,
  waitFor,
  waitForJobEnd,
  type JobObject,
  type LogLine,
} from "./helpers";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UNKNOWN_ID = "01JD5Q3Y8Z6K7M8N9P0QRSTVWX";

async function setting(headers: Record<string, string>, name: string, value: string | number): Promise<void> {
  const response = await postJson("/settings", { name, setting: value }, headers);
  expect(response.status, `${name}=${value}`).toBe(200);
}

async function logsOf(id: string, headers: Record<string, string>, query = ""): Promise<LogLine[]> {
  const { status, body } = await getJson<LogLine[]>(`/logs/${id}${query}`, headers);
  expect(status).toBe(200);
  return body;
}

describe("POST /job and GET /jobs/{id}", () => {
  let headers: Record<string, string>;

  beforeAll(async () => {
    headers = await createClient("jobs-client");
  });

  it("accepts a job with 202 and shows it, tasks and result included, once it has run", async () => {
    const parameters = { content_id: "movie-1", tasks: 2, custom_data: { ref: "r-1" } };
    const response = await postJson("/job", { job: { workflow: "selftest", priority: 3 }, parameters }, headers);
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string };
    expect(accepted).toEqual({ id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), job_id: accepted.id, result: "accepted", queue_state: "queued" });

    const job = await waitForJobEnd(accepted.id, headers);
    expect(job).toEqual({
      id: accepted.id,
      client: "jobs-client",
      workflow: "selftest",
      priority: 3,
      position: null,
      top_of_queue: false,
      parameters,
      created_at: expect.stringMatching(ISO_MS),
      updated_at: expect.stringMatching(ISO_MS),
      queue_state: "completed",
      failed: false,
      run_at: null,
      persist: false,
      progress: 100,
      tasks: [1, 2].map((n) => ({
        task_id: expect.stringMatching(/^[0-9A-Z]{26}$/),
        task_name: `task_${n}`,
        state: "completed",
        attempts: 1,
        started_at: expect.stringMatching(ISO_MS),
        ended_at: expect.stringMatching(ISO_MS),
        message: "",
        progress: 100,
        needs: n === 1 ? [] : [`task_${n - 1}`],
      })),
      result: { message: "2 tasks completed (chain)" },
    });
    expect(job.updated_at >= job.created_at).toBe(true);
    const [first, second] = job.tasks!;
    expect(first!.task_id).not.toBe(second!.task_id);
    // A chain: the second task starts after the first ended.
    expect(second!.started_at! >= first!.ended_at!).toBe(true);
  });

  it("masks secret-looking parameters in the job object and its log", async () => {
    const id = await submitSelftest(headers, { content_id: "secretive", tasks: 1, api_token: "s3cret-value", nested: { password: "hunter2" } });
    const job = await waitForJobEnd(id, headers);
    expect(job.parameters).toEqual({ content_id: "secretive", tasks: 1, api_token: "********", nested: { password: "********" } });
    const everything = JSON.stringify([job, await logsOf(id, headers, "?show_all=1")]);
    expect(everything).not.toContain("s3cret-value");
    expect(everything).not.toContain("hunter2");
  });

  it("shows a failed job as completed with failed: true, the error on the task and cancelled dependents", async () => {
    const limited = await createClient("no-retry-client");
    await setting(limited, "retry_limit", "0");
    const id = await submitSelftest(limited, { content_id: "broken", tasks: 3, fail_task: "task_2" });
    const job = await waitForJobEnd(id, limited);
    expect(job.failed).toBe(true);
    expect(job.progress).toBe(100);
    expect(job.result).toBeNull();
    expect(job.tasks!.map((task) => [task.task_name, task.state, task.attempts])).toEqual([
      ["task_1", "completed", 1],
      ["task_2", "failed", 1],
      ["task_3", "cancelled", 0],
    ]);
    expect(job.tasks![1]!.message).toBe("task_2 failed on purpose (attempt 1 of 1 planned failures)");
    expect(job.tasks![2]!.message).toBe("cancelled: 'task_2' failed");
  });
});

describe("tenant isolation", () => {
  it("answers another client's job id exactly as an unknown id, and never lists it", async () => {
    const owner = await createClient("owner-client");
    const stranger = await createClient("stranger-client");
    const id = await submitSelftest(owner, { content_id: "private", tasks: 1 });
    await waitForJobEnd(id, owner);

    for (const path of ["/jobs", "/logs"]) {
      const theirs = await getJson<unknown>(`${path}/${id}`, stranger);
      const unknown = await getJson<unknown>(`${path}/${UNKNOWN_ID}`, stranger);
      expect(theirs.status).toBe(404);
      expect(theirs).toEqual(unknown);
      expect(theirs.body).toEqual({ error: "Job not found.", code: "not_found" });
      expect((await getJson<unknown>(`${path}/${id}`, owner)).status).toBe(200);
    }
    const listed = await getJson<JobObject[]>("/jobs?limit=100", stranger);
    expect(listed).toEqual({ status: 200, body: [] });
    const own = await getJson<JobObject[]>("/jobs?limit=100", owner);
    expect(own.body.map((job) => job.id)).toEqual([id]);
  });
});

describe("GET /jobs", () => {
  let headers: Record<string, string>;
  /** Oldest first: low (priority 7, completed), failed (2, failed), mid (5, completed), waiting (9, started). */
  const ids = { low: "", failed: "", mid: "", waiting: "" };

  beforeAll(async () => {
    headers = await createClient("lister-client");
    await setting(headers, "retry_limit", "0");
    ids.low = await submitSelftest(headers, { content_id: "low", tasks: 1 }, { priority: 7 });
    await waitForJobEnd(ids.low, headers);
    ids.failed = await submitSelftest(headers, { content_id: "failed", tasks: 1, fail_task: "task_1" }, { priority: 2 });
    await waitForJobEnd(ids.failed, headers);
    ids.mid = await submitSelftest(headers, { content_id: "mid", tasks: 1 }, { priority: 5 });
    await waitForJobEnd(ids.mid, headers);
    // One retry, an hour away: the job stays `started` for the whole test.
    await setting(headers, "retry_limit", "1");
    await setting(headers, "retry_delay", "3600");
    ids.waiting = await submitSelftest(headers, { content_id: "waiting", tasks: 1, fail_task: "task_1" }, { priority: 9 });
    await waitFor(
      () => jobObject(ids.waiting, headers),
      (job) => job.tasks?.[0]?.state === "retrying",
    );
    await indexed(ids.waiting);
  });

  async function listed(query: string): Promise<string[]> {
    const { status, body } = await getJson<JobObject[]>(`/jobs${query}`, headers);
    expect(status, query).toBe(200);
    return body.map((job) => job.id);
  }

  it("lists newest first by default, up to limit, as job objects without tasks", async () => {
    expect(await listed("")).toEqual([ids.waiting, ids.mid, ids.failed, ids.low]);
    expect(await listed("?limit=2")).toEqual([ids.waiting, ids.mid]);
    expect(await listed("?limit=1")).toEqual([ids.waiting]);
    const { body } = await getJson<JobObject[]>("/jobs?limit=1", headers);
    expect(body[0]).toMatchObject({ id: ids.waiting, client: "lister-client", workflow: "selftest", priority: 9, queue_state: "started", failed: false });
    expect(body[0]).not.toHaveProperty("tasks");
  });

  it("orders by created_at, updated_at or priority, either way", async () => {
    expect(await listed("?asc=1")).toEqual([ids.low, ids.failed, ids.mid, ids.waiting]);
    expect(await listed("?order_by=priority")).toEqual([ids.waiting, ids.low, ids.mid, ids.failed]);
    expect(await listed("?order_by=priority&asc=1")).toEqual([ids.failed, ids.mid, ids.low, ids.waiting]);
    const byUpdate = await getJson<JobObject[]>("/jobs?order_by=updated_at&asc=1", headers);
    const times = byUpdate.body.map((job) => job.updated_at);
    expect(times).toEqual([...times].sort());
  });

  it("filters by state, by name or by the reference system's number", async () => {
    expect(await listed("?state=completed")).toEqual([ids.mid, ids.failed, ids.low]);
    expect(await listed("?state=2")).toEqual([ids.mid, ids.failed, ids.low]);
    expect(await listed("?state=started")).toEqual([ids.waiting]);
    expect(await listed("?state=1")).toEqual([ids.waiting]);
    expect(await listed("?state=queued")).toEqual([]);
    expect(await listed("?state=0")).toEqual([]);
    const bad = await getJson<{ code: string; details: { path: string }[] }>("/jobs?state=finished", headers);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("validation_failed");
    expect(bad.body.details.map((detail) => detail.path)).toEqual(["state"]);
  });

  it("filters by failed, alone and with state and limit", async () => {
    expect(await listed("?failed=1")).toEqual([ids.failed]);
    expect(await listed("?failed=0")).toEqual([ids.waiting, ids.mid, ids.low]);
    expect(await listed("?failed=0&state=completed&asc=1&limit=1")).toEqual([ids.low]);
  });
});

describe("GET /logs/{id}", () => {
  let headers: Record<string, string>;
  let id: string;

  beforeAll(async () => {
    headers = await createClient("logs-client");
    id = await submitSelftest(headers, { content_id: "logged", tasks: 2, colour: "blue", speed: 11 });
    await waitForJobEnd(id, headers);
  });

  it("starts with the API's job_created line, then reports the ignored parameters", async () => {
    const [created, ignored] = await logsOf(id, headers);
    expect(created).toEqual({
      id: expect.any(Number),
      job_id: id,
      task_id: null,
      severity: 1,
      severity_description: "INFO",
      progname: "api",
      message: expect.any(String),
      created_at: expect.stringMatching(ISO_MS),
      updated_at: created!.created_at,
      visible: true,
    });
    expect(JSON.parse(created!.message)).toMatchObject({
      path: "POST /job",
      payload: "job_created",
      parameters: { content_id: "logged", tasks: 2, colour: "blue", speed: 11 },
    });
    expect(ignored).toMatchObject({ severity: 2, severity_description: "WARN", progname: "api", task_id: null });
    expect(ignored!.message).toContain("colour");
    expect(ignored!.message).toContain("speed");
  });

  it("lists the job's lines oldest first, task lines carrying their task id, ending with the job's end", async () => {
    const lines = await logsOf(id, headers);
    const ids = lines.map((line) => line.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const job = await jobObject(id, headers);
    const taskIds = new Map(job.tasks!.map((task) => [task.task_name, task.task_id]));
    const started = lines.filter((line) => line.message.startsWith("Task '"));
    expect(started.map((line) => [line.message, line.task_id])).toEqual([
      ["Task 'task_1' started", taskIds.get("task_1")],
      ["Task 'task_2' started", taskIds.get("task_2")],
    ]);
    expect(lines.at(-1)).toMatchObject({ task_id: null, severity_description: "INFO", message: "job has completed successfully" });
    for (const line of lines) expect(line.job_id).toBe(id);
  });

  it("accepts show_all (the reference's flag) and shows the same lines: the engine writes no hidden line", async () => {
    const visible = await logsOf(id, headers);
    expect(visible.every((line) => line.visible)).toBe(true);
    expect(await logsOf(id, headers, "?show_all=1")).toEqual(visible);
    expect(await logsOf(id, headers, "?show_all=0")).toEqual(visible);
  });
});

describe("POST /settings", () => {
  let headers: Record<string, string>;

  beforeAll(async () => {
    headers = await createClient("settings-client");
  });

  it("stores a valid setting, given as a string or a number", async () => {
    for (const value of ["4", 4, " 5 "]) {
      const response = await postJson("/settings", { name: "max_jobs", setting: value }, headers);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ result: "ok", message: "max_jobs setting created/updated" });
    }
    expect(await rows(`SELECT name, value FROM settings WHERE client = ?`, "settings-client")).toEqual([{ name: "max_jobs", value: "5" }]);
  });

  it("refuses an unknown setting with 400, naming the known ones", async () => {
    const response = await postJson("/settings", { name: "max_speed", setting: "9" }, headers);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; code: string; details: { path: string }[] };
    expect(body.code).toBe("validation_failed");
    expect(body.error).toContain("max_speed");
    expect(body.error).toContain("retry_limit");
    expect(body.details.map((detail) => detail.path)).toEqual(["name"]);
  });

  it.each([
    ["max_jobs", "abc"],
    ["max_jobs", "0"],
    ["retry_limit", "-1"],
    ["retry_limit", "2.5"],
    ["retry_delay", "soon"],
    ["priority_threshold", "11"],
    ["callback_retry_schedule", "5,,10"],
  ])("refuses %s = %j with 400 and changes nothing", async (name, value) => {
    const response = await postJson("/settings", { name, setting: value }, headers);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; code: string; details: { path: string }[] };
    expect(body.code).toBe("validation_failed");
    expect(body.error).toContain(name);
    expect(body.details.map((detail) => detail.path)).toEqual(["setting"]);
    expect(await rows(`SELECT value FROM settings WHERE client = ? AND name = ?`, "settings-client", name)).toEqual(
      name === "max_jobs" ? [{ value: "5" }] : [],
    );
  });

  it("applies retry_limit and retry_delay to jobs submitted afterwards", async () => {
    const tuned = await createClient("retry-client");
    const failTwice = { content_id: "flaky", tasks: 2, fail_task: "task_1", fail_times: 2 };

    // Default limit 3 would let task_1 succeed on attempt 3; with 1 retry it fails for good.
    await setting(tuned, "retry_limit", "1");
    await setting(tuned, "retry_delay", "0");
    const short = await waitForJobEnd(await submitSelftest(tuned, failTwice), tuned);
    expect(short.failed).toBe(true);
    expect(short.tasks!.map((task) => [task.state, task.attempts])).toEqual([
      ["failed", 2],
      ["cancelled", 0],
    ]);

    await setting(tuned, "retry_limit", "2");
    const enough = await waitForJobEnd(await submitSelftest(tuned, failTwice), tuned);
    expect(enough.failed).toBe(false);
    expect(enough.tasks!.map((task) => [task.state, task.attempts])).toEqual([
      ["completed", 3],
      ["completed", 1],
    ]);
    const warnings = (await logsOf(enough.id, tuned)).filter((line) => line.severity_description === "WARN");
    expect(warnings.map((line) => line.message)).toEqual([
      "'task_1' failed: task_1 failed on purpose (attempt 1 of 2 planned failures) (attempt 1, retrying in 0.0 s)",
      "'task_1' failed: task_1 failed on purpose (attempt 2 of 2 planned failures) (attempt 2, retrying in 0.0 s)",
    ]);

    // A long delay keeps the task waiting in `retrying`, the job `started`.
    await setting(tuned, "retry_delay", "600");
    const slow = await submitSelftest(tuned, failTwice);
    const waiting = await waitFor(
      () => jobObject(slow, tuned),
      (job) => job.tasks?.[0]?.state === "retrying",
    );
    expect(waiting.queue_state).toBe("started");
    const retryLine = (await logsOf(slow, tuned)).find((line) => line.severity_description === "WARN");
    const seconds = Number(/retrying in ([\d.]+) s/.exec(retryLine?.message ?? "")?.[1]);
    // 600 s with the policy's ±20 % jitter.
    expect(seconds).toBeGreaterThanOrEqual(480);
    expect(seconds).toBeLessThanOrEqual(720);
  });
});

describe("a job's unknown id", () => {
  it("answers 404 not_found on every job route", async () => {
    const headers = await createClient("lost-client");
    for (const path of [`/jobs/${UNKNOWN_ID}`, `/logs/${UNKNOWN_ID}`]) {
      const response = await call(path, { headers });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: "Job not found.", code: "not_found" });
    }
  });
});
