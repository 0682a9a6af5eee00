-- Clients and their API keys. Keys are stored only as SHA-256 hex digests.
CREATE TABLE clients (
  name        TEXT PRIMARY KEY,
  config      TEXT NOT NULL DEFAULT '{}',   -- JSON: storage roots, callback rules, signing secrets (operator-managed)
  created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,
  client      TEXT NOT NULL REFERENCES clients(name) ON DELETE CASCADE,
  key_hash    TEXT NOT NULL UNIQUE,
  label       TEXT,
  created_at  TEXT NOT NULL,
  revoked_at  TEXT
);
CREATE INDEX api_keys_client ON api_keys(client);

-- Per-client settings set through POST /settings (max_jobs, retry_limit, ...). Values are strings, as in the reference API.
CREATE TABLE settings (
  client      TEXT NOT NULL REFERENCES clients(name) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  value       TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (client, name)
);

-- Jobs: a queryable projection written by each job's JobCoordinator (the source of truth).
-- `version` orders projection writes so a late write never overwrites a newer one.
CREATE TABLE jobs (
  id            TEXT PRIMARY KEY,
  client        TEXT NOT NULL,
  workflow      TEXT NOT NULL,
  content_id    TEXT,
  priority      INTEGER NOT NULL DEFAULT 5,
  queue_state   TEXT NOT NULL,
  failed        INTEGER NOT NULL DEFAULT 0,
  run_at        TEXT,
  semaphore_url TEXT,
  persist       INTEGER NOT NULL DEFAULT 0,
  parameters    TEXT NOT NULL,
  result        TEXT,
  progress      INTEGER NOT NULL DEFAULT 0,
  rerun_of      TEXT,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  ended_at      TEXT,
  version       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_client_created ON jobs(client, created_at);
CREATE INDEX jobs_client_state_created ON jobs(client, queue_state, failed, created_at);

CREATE TABLE tasks (
  job_id      TEXT NOT NULL,
  task_id     TEXT NOT NULL,
  task_name   TEXT NOT NULL,
  position    INTEGER NOT NULL,
  state       TEXT NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  started_at  TEXT,
  ended_at    TEXT,
  message     TEXT NOT NULL DEFAULT '',
  progress    INTEGER NOT NULL DEFAULT 0,
  version     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, task_id)
);

-- Job log lines, oldest first by id. `seq` makes coordinator-written lines idempotent.
CREATE TABLE logs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id      TEXT NOT NULL,
  seq         INTEGER,
  task_id     TEXT,
  severity    INTEGER NOT NULL,
  progname    TEXT NOT NULL,
  message     TEXT NOT NULL,
  visible     INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL
);
CREATE INDEX logs_job ON logs(job_id, id);
CREATE UNIQUE INDEX logs_job_seq ON logs(job_id, seq) WHERE seq IS NOT NULL;

-- Callback delivery log: one row per (callback, endpoint), and one row per attempt.
CREATE TABLE callbacks (
  id              TEXT PRIMARY KEY,
  job_id          TEXT NOT NULL,
  endpoint        TEXT NOT NULL,
  event           TEXT NOT NULL,
  sequence        INTEGER NOT NULL,
  state           TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  error           TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX callbacks_job ON callbacks(job_id, sequence);

CREATE TABLE callback_attempts (
  callback_id   TEXT NOT NULL,
  attempt       INTEGER NOT NULL,
  job_id        TEXT NOT NULL,
  attempted_at  TEXT NOT NULL,
  status        INTEGER,
  duration_ms   INTEGER NOT NULL,
  error         TEXT,
  PRIMARY KEY (callback_id, attempt)
);
CREATE INDEX callback_attempts_job ON callback_attempts(job_id);

-- Messages that exhausted their queue retries, recorded by the dead-letter consumers.
CREATE TABLE dead_letters (
  id          TEXT PRIMARY KEY,
  queue       TEXT NOT NULL,
  body        TEXT NOT NULL,
  attempts    INTEGER NOT NULL,
  created_at  TEXT NOT NULL
);
