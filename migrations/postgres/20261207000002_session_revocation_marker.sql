-- "Revoke all other sessions" as one row: every session of the identity inserted at or before
-- `sessions_revoked_before`, except `sessions_revoked_except`, counts as revoked, whatever its own
-- `active` flag says. Revoking 1,000 sessions then writes one row, not 1,000.
--
-- `sessions.inserted_at` is the database's clock (µs since the epoch) when the row was inserted,
-- written by the INSERT itself: not the application's `created_at`, which a login takes before it
-- verifies the password and which other nodes' clocks may disagree with. NULL (rows from before
-- this migration, or written by other tools) counts as inserted at the beginning of time.
ALTER TABLE identities ADD COLUMN sessions_revoked_before BIGINT;
ALTER TABLE identities ADD COLUMN sessions_revoked_except TEXT;
ALTER TABLE sessions ADD COLUMN inserted_at BIGINT;
