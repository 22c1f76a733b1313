-- The janitor finds expired rows through these indexes instead of reading whole tables (a full
-- scan of `sessions` every pass read every page of it, into every node's page cache).
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX selfservice_codes_expires_idx ON selfservice_codes (expires_at);
CREATE INDEX selfservice_errors_created_idx ON selfservice_errors (created_at);
CREATE INDEX courier_messages_status_updated_idx ON courier_messages (status, updated_at);
