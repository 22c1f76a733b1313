-- Outgoing messages, written first and delivered by a dispatcher, and the one-time codes and link
-- tokens of recovery and verification (stored as SHA-256 digests).
CREATE TABLE courier_messages (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    template_type TEXT NOT NULL,
    channel TEXT NOT NULL,
    send_count BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX courier_messages_status_next_idx ON courier_messages (status, next_attempt_at);
CREATE INDEX courier_messages_created_idx ON courier_messages (created_at, id);

CREATE TABLE courier_message_dispatches (
    id TEXT PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL REFERENCES courier_messages (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX courier_message_dispatches_message_idx ON courier_message_dispatches (message_id);

CREATE TABLE selfservice_codes (
    id TEXT PRIMARY KEY NOT NULL,
    flow_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    identity_id TEXT REFERENCES identities (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    used_at BIGINT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX selfservice_codes_flow_idx ON selfservice_codes (flow_id);
CREATE INDEX selfservice_codes_hash_idx ON selfservice_codes (code_hash);
