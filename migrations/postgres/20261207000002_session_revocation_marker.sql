-- "Revoke all other sessions" as one row: every session of the identity created at or before
-- `sessions_revoked_before` (microseconds), except `sessions_revoked_except`, counts as revoked,
-- whatever its own `active` flag says. Revoking 1,000 sessions then writes one row, not 1,000.
ALTER TABLE identities ADD COLUMN sessions_revoked_before BIGINT;
ALTER TABLE identities ADD COLUMN sessions_revoked_except TEXT;
