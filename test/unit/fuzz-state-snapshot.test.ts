import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { activity, coordinatorFiles, diffSnapshots, normaliseJob, readCoordinator, readD1 } from "../fuzz/state-snapshot";

/** The state the OpenAPI fuzzer compares before and after a chunk of refused requests. */

const dir = mkdtempSync(join(tmpdir(), "fuzz-snapshot-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function database(): string {
  const file = join(dir, `d1-${Math.random().toString(36).slice(2)}.sqlite`);
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE jobs (id TEXT PRIMARY KEY, content_id TEXT, queue_state TEXT, progress INTEGER, updated_at TEXT, priority INTEGER);
    CREATE TABLE tasks (job_id TEXT, task_id TEXT, state TEXT);
    CREATE TABLE callbacks (id TEXT, job_id TEXT, state TEXT);
    CREATE TABLE auth_throttle (address TEXT, n INTEGER);
    INSERT INTO jobs VALUES ('done', 'c1', 'completed', 100, 't1', 5), ('run', 'c2', 'started', 10, 't1', 5);
    INSERT INTO tasks VALUES ('done', 't', 'completed'), ('run', 't', 'running');
    INSERT INTO callbacks VALUES ('cb1', 'done', 'delivered'), ('cb2', 'run', 'pending');
    INSERT INTO auth_throttle VALUES ('10.0.0.1', 1);
  `);
  db.close();
  return file;
}

function update(file: string, sql: string): void {
  const db = new DatabaseSync(file);
  db.exec(sql);
  db.close();
}

describe("readD1", () => {
  it("ignores what a running job changes on its own, and the throttles' tables", () => {
    const file = database();
    const before = readD1(file);
    expect(Object.keys(before).sort()).toEqual(["callbacks", "jobs", "tasks"]);
    update(file, "UPDATE jobs SET progress = 20, updated_at = 't2' WHERE id = 'run'; UPDATE tasks SET state = 'completed' WHERE job_id = 'run'; UPDATE auth_throttle SET n = 2;");
    expect(diffSnapshots({ api: {}, d1: before }, { api: {}, d1: readD1(file) })).toEqual([]);
  });

  it("sees a change a request could make: a running job's priority, an ended job's rows", () => {
    const file = database();
    const before = { api: {}, d1: readD1(file) };
    update(file, "UPDATE jobs SET priority = 1 WHERE id = 'run'; UPDATE callbacks SET state = 'pending' WHERE id = 'cb1';");
    const differences = diffSnapshots(before, { api: {}, d1: readD1(file) });
    expect(differences.some((line) => line.startsWith("D1 jobs row new or changed") && line.includes('"priority":1'))).toBe(true);
    expect(differences.some((line) => line.startsWith("D1 callbacks row gone or changed") && line.includes("cb1"))).toBe(true);
  });

  it("tells what still moves: started jobs, and callbacks waiting for delivery of other jobs (from their coordinators)", () => {
    const file = database();
    const done = coordinatorFile("done-job", { queueState: "completed", callbacks: [["cb1", "delivered"]], head: [] });
    expect(activity(file, [done])).toEqual({ started: [{ id: "run", contentId: "c2" }], pendingCallbacks: 0 });
    // A callback the head now holds as in flight again (a redelivery).
    const redelivering = coordinatorFile("done-job-2", { queueState: "completed", callbacks: [["cb1", "delivered"]], head: [["cb1", "in_flight"]] });
    expect(activity(file, [done, redelivering]).pendingCallbacks).toBe(1);
    // A started job's callbacks move on their own: not counted.
    const running = coordinatorFile("run-job", { queueState: "started", callbacks: [["cb2", "pending"]], head: [] });
    expect(activity(file, [running]).pendingCallbacks).toBe(0);
  });
});

/** A coordinator's SQLite file in the engine's layout: the head (key 0), the spec (key 1) and callback rows. */
function coordinatorFile(jobId: string, job: { queueState: string; callbacks: [string, string][]; head: [string, string][] }, into = dir): string {
  const file = join(into, `${jobId}-${Math.random().toString(36).slice(2)}.sqlite`);
  const db = new DatabaseSync(file);
  db.exec(`CREATE TABLE job_rows (key INTEGER PRIMARY KEY, body TEXT NOT NULL, extra TEXT)`);
  const insert = db.prepare(`INSERT INTO job_rows (key, body, extra) VALUES (?, ?, ?)`);
  const record = ([id, state]: [string, string]) => ({ entry: { id, state } });
  insert.run(0, JSON.stringify({ meta: { queueState: job.queueState }, deliveries: job.head.map(record) }), null);
  insert.run(1, JSON.stringify({ jobId }), null);
  job.callbacks.forEach((callback, index) => insert.run(3e12 + index, JSON.stringify(record(callback)), "{}"));
  db.close();
  return file;
}

describe("coordinators", () => {
  it("finds each job's coordinator file by the job id in its spec, and reads its rows", () => {
    const persistTo = mkdtempSync(join(dir, "state-"));
    const objects = join(persistTo, "v3", "do", "task-engine-JobCoordinator");
    mkdirSync(objects, { recursive: true });
    coordinatorFile("J1", { queueState: "queued", callbacks: [], head: [] }, objects);
    new DatabaseSync(join(objects, "metadata.sqlite")).close();
    const cache = new Map<string, string | null>();
    const files = coordinatorFiles(persistTo, cache);
    expect([...files.keys()]).toEqual(["J1"]);
    expect(readCoordinator(files.get("J1")!).job_rows!.map((row) => JSON.parse(row).key)).toEqual([0, 1]);
    const before = { api: {}, d1: {}, coordinators: { "J1 job": ["a"] } };
    expect(diffSnapshots(before, { api: {}, d1: {}, coordinators: { "J1 job": ["b"] } })).toHaveLength(2);
  });
});

describe("snapshots", () => {
  it("normalise a started job to what requests change", () => {
    expect(normaliseJob({ id: "a", queue_state: "started", progress: 40, updated_at: "t", priority: 3, tasks: [] })).toEqual({ id: "a", queue_state: "started", priority: 3 });
    const ended = { id: "b", queue_state: "completed", progress: 100, updated_at: "t" };
    expect(normaliseJob(ended)).toBe(ended);
  });

  it("diff API reads by name, showing where they part", () => {
    const differences = diffSnapshots({ api: { health: { queued: 1 } }, d1: {} }, { api: { health: { queued: 2 } }, d1: {} });
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatch(/^API health: before …\{"queued":1\}… after …\{"queued":2\}…/);
  });
});
