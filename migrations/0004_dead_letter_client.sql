-- Dead letters belong to a client: GET /health shows each client its own count, never another's.
-- Filled from the message (callbacks carry their client) or the job's row (tasks carry only the job id).
ALTER TABLE dead_letters ADD COLUMN client TEXT;
CREATE INDEX dead_letters_client ON dead_letters(client, queue);
