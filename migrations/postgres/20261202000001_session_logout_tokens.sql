-- Logout tokens: minted on each createBrowserLogoutFlow, stored only as SHA-256 digests, bound to
-- one session and deleted with it.
CREATE TABLE session_logout_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX session_logout_tokens_session_idx ON session_logout_tokens (session_id);
