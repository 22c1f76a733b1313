-- Optimistic concurrency for identities: every update names the version it read and moves it on,
-- so a write based on a stale read (a settings change racing an admin PATCH) is refused, not
-- applied over the other.
ALTER TABLE identities ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
