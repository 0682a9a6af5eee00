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

  it("tells what still moves: started jobs and callbacks waiting for delivery of other jobs", () => {
    const file = database();
    expect(activity(file)).toEqual({ started: [{ id: "run", contentId: "c2" }], pendingCallbacks: 0 });
    update(file, "UPDATE callbacks SET state = 'in_flight' WHERE id = 'cb1';");
    expect(activity(file).pendingCallbacks).toBe(1);
  });
});

describe("coordinators", () => {
  it("finds each job's coordinator file by the job id in its spec, and reads its rows", () => {
    const persistTo = mkdtempSync(join(dir, "state-"));
    const objects = join(persistTo, "v3", "do", "task-engine-JobCoordinator");
    mkdirSync(objects, { recursive: true });
    const db = new DatabaseSync(join(objects, "abc123.sqlite"));
    db.exec(`CREATE TABLE job (id INTEGER PRIMARY KEY, spec TEXT, head TEXT, meta TEXT);
      CREATE TABLE tasks (name TEXT, position INTEGER, body TEXT); CREATE TABLE outbox (id TEXT, entry TEXT, body TEXT);
      CREATE TABLE projection (id INTEGER PRIMARY KEY, statement TEXT);
      INSERT INTO job VALUES (1, '{"jobId":"J1"}', '{}', '{"queueState":"queued"}'); INSERT INTO tasks VALUES ('task_1', 0, '{}');`);
    db.close();
    new DatabaseSync(join(objects, "metadata.sqlite")).close();
    const cache = new Map<string, string | null>();
    const files = coordinatorFiles(persistTo, cache);
    expect([...files.keys()]).toEqual(["J1"]);
    expect(readCoordinator(files.get("J1")!)).toEqual({
      job: ['{"id":1,"spec":"{\\"jobId\\":\\"J1\\"}","head":"{}","meta":"{\\"queueState\\":\\"queued\\"}"}'],
      tasks: ['{"name":"task_1","position":0,"body":"{}"}'],
      outbox: [],
      projection: [],
    });
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
