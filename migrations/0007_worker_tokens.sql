-- Remote workers (workers.md): pool tokens, made and revoked through the operator API. A token is shown once
-- (`wkr_<token_id>_<secret>`) and kept as the SHA-256 digest of the whole token. `client`: the one client
-- whose tasks the token may lease (NULL: any client's). Looked up by primary key only: no further index.
CREATE TABLE worker_tokens (
  token_id TEXT PRIMARY KEY,
  pool TEXT NOT NULL,
  label TEXT NOT NULL,
  client TEXT,
  token_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
