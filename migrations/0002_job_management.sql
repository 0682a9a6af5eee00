-- P3: job management, listing filters, idempotency and schedules.
ALTER TABLE jobs ADD COLUMN started_at TEXT;

-- Every GET /jobs filter is served by an index that starts with the client.
CREATE INDEX jobs_client_updated ON jobs(client, updated_at);
CREATE INDEX jobs_client_priority ON jobs(client, priority, created_at);
CREATE INDEX jobs_client_workflow ON jobs(client, workflow, created_at);
CREATE INDEX jobs_client_content ON jobs(client, content_id, created_at);
CREATE INDEX jobs_client_persist ON jobs(client, persist, created_at);
CREATE INDEX jobs_client_failed ON jobs(client, failed, created_at);

-- POST /job Idempotency-Key: the same key with the same body within 24 h returns the first job.
CREATE TABLE idempotency_keys (
  client      TEXT NOT NULL,
  key         TEXT NOT NULL,
  body_hash   TEXT NOT NULL,
  job_id      TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (client, key)
);

-- The engine's recurring jobs, switched on and off per client (GET /schedules, PUT /scheduler).
CREATE TABLE schedules (
  client      TEXT NOT NULL,
  name        TEXT NOT NULL,
  active      INTEGER NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (client, name)
);
