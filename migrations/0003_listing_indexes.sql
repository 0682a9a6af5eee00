-- GET /jobs pages in (column, id) order with a keyset cursor: each listing index ends with the order
-- column and id, so a page is one index range read in order, with no sort and no row-by-row filtering.
DROP INDEX jobs_client_created;
CREATE INDEX jobs_client_created ON jobs(client, created_at, id);
DROP INDEX jobs_client_updated;
CREATE INDEX jobs_client_updated ON jobs(client, updated_at, id);
DROP INDEX jobs_client_priority;
CREATE INDEX jobs_client_priority ON jobs(client, priority, id);
-- state alone (the common filter) and state with failed.
DROP INDEX jobs_client_state_created;
CREATE INDEX jobs_client_state_created ON jobs(client, queue_state, created_at, id);
CREATE INDEX jobs_client_state_failed_created ON jobs(client, queue_state, failed, created_at, id);
DROP INDEX jobs_client_failed;
CREATE INDEX jobs_client_failed ON jobs(client, failed, created_at, id);
DROP INDEX jobs_client_workflow;
CREATE INDEX jobs_client_workflow ON jobs(client, workflow, created_at, id);
DROP INDEX jobs_client_content;
CREATE INDEX jobs_client_content ON jobs(client, content_id, created_at, id);
DROP INDEX jobs_client_persist;
CREATE INDEX jobs_client_persist ON jobs(client, persist, created_at, id);
