-- The job index can live on several D1 databases (shards). A client's jobs are indexed on one shard, fixed
-- when the client is created: 0 is this database (the control plane's), n ≥ 1 the binding JOB_INDEX_<n>.
-- Shard databases take these same migrations; only their `jobs` table is used.
ALTER TABLE clients ADD COLUMN index_shard INTEGER NOT NULL DEFAULT 0;
