-- P6: the coordinator is each job's only store; D1 keeps the control plane and one job index row per job.
--
-- `jobs` becomes WITHOUT ROWID (the id is the table's own key: no second row per write for a separate
-- primary-key index), and keeps only the indexes a GET /jobs filter or order needs. Every index is one more
-- row written with each job write, so each is justified by a query:
--   jobs_client_created      (client, created_at, id)              default order; from / to; workflow-free filters
--   jobs_client_updated      (client, updated_at, id)              order_by=updated_at
--   jobs_client_priority     (client, priority, id)                order_by=priority
--   jobs_client_state        (client, queue_state, created_at, id) state=…, the dashboard, retention
--   jobs_client_workflow     (client, workflow, created_at, id)    workflow=…
--   jobs_client_content      (client, content_id, created_at, id)  search=… (content_id prefix)
--   jobs_client_failed       … WHERE failed = 1                    failed=1 (alone or with a state): partial,
--   jobs_client_state_failed … WHERE failed = 1                    so a job that did not fail writes no row here
--   jobs_client_persisted    … WHERE persist = 1                   persist=1: partial likewise
-- failed=0 and persist=0 read jobs_client_created (most jobs match them).
CREATE TABLE jobs_index (
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
  started_at    TEXT,
  ended_at      TEXT,
  version       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

INSERT INTO jobs_index (id, client, workflow, content_id, priority, queue_state, failed, run_at, semaphore_url, persist,
                        parameters, result, progress, rerun_of, created_at, updated_at, started_at, ended_at, version)
  SELECT id, client, workflow, content_id, priority, queue_state, failed, run_at, semaphore_url, persist,
         parameters, result, progress, rerun_of, created_at, updated_at, started_at, ended_at, version
  FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_index RENAME TO jobs;

CREATE INDEX jobs_client_created ON jobs(client, created_at, id);
CREATE INDEX jobs_client_updated ON jobs(client, updated_at, id);
CREATE INDEX jobs_client_priority ON jobs(client, priority, id);
CREATE INDEX jobs_client_state ON jobs(client, queue_state, created_at, id);
CREATE INDEX jobs_client_workflow ON jobs(client, workflow, created_at, id);
CREATE INDEX jobs_client_content ON jobs(client, content_id, created_at, id);
CREATE INDEX jobs_client_failed ON jobs(client, created_at, id) WHERE failed = 1;
CREATE INDEX jobs_client_state_failed ON jobs(client, queue_state, created_at, id) WHERE failed = 1;
CREATE INDEX jobs_client_persisted ON jobs(client, created_at, id) WHERE persist = 1;

-- tasks, logs, callbacks and callback_attempts are no longer written: a job's tasks, log and deliveries live
-- in its coordinator. A job created before this version moves its rows there the first time its coordinator
-- wakes (src/coordinator/legacy-job.ts); retention deletes what is left with the job. A later version drops
-- these tables.
