-- Identities with their credentials and addresses, sessions with their devices, and self-service
-- flows. Ids are hyphenated UUID text, times are microseconds since the epoch, JSON is text.

CREATE TABLE identities (
    id TEXT PRIMARY KEY NOT NULL,
    schema_id TEXT NOT NULL,
    state TEXT NOT NULL,
    state_changed_at BIGINT,
    traits TEXT NOT NULL,
    metadata_public TEXT,
    metadata_admin TEXT,
    external_id TEXT,
    organization_id TEXT,
    available_aal TEXT,
    -- The verifiable and recovery addresses as JSON, kept in step with the address tables on every
    -- write, so an identity (and a whoami) is read in one row.
    addresses TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identities_external_id_key ON identities (external_id);

CREATE TABLE identity_credentials (
    id TEXT PRIMARY KEY NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    config TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_credentials_identity_type_key ON identity_credentials (identity_id, type);

CREATE TABLE identity_credential_identifiers (
    id TEXT PRIMARY KEY NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    credential_type TEXT NOT NULL,
    identifier TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_credential_identifiers_type_identifier_key
    ON identity_credential_identifiers (credential_type, identifier);
CREATE INDEX identity_credential_identifiers_identity_idx ON identity_credential_identifiers (identity_id);

CREATE TABLE identity_verifiable_addresses (
    id TEXT PRIMARY KEY NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    via TEXT NOT NULL,
    value TEXT NOT NULL,
    verified BIGINT NOT NULL,
    status TEXT NOT NULL,
    verified_at BIGINT,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_verifiable_addresses_via_value_key ON identity_verifiable_addresses (via, value);
CREATE INDEX identity_verifiable_addresses_identity_idx ON identity_verifiable_addresses (identity_id);

CREATE TABLE identity_recovery_addresses (
    id TEXT PRIMARY KEY NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    via TEXT NOT NULL,
    value TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_recovery_addresses_via_value_key ON identity_recovery_addresses (via, value);
CREATE INDEX identity_recovery_addresses_identity_idx ON identity_recovery_addresses (identity_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL,
    logout_token_hash TEXT NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    active BIGINT NOT NULL,
    aal TEXT NOT NULL,
    authentication_methods TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    authenticated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- The devices recorded at creation, as JSON (they never change afterwards).
    devices TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE UNIQUE INDEX sessions_logout_token_hash_key ON sessions (logout_token_hash);
CREATE INDEX sessions_identity_created_idx ON sessions (identity_id, created_at);
CREATE INDEX sessions_created_id_idx ON sessions (created_at, id);

CREATE TABLE session_devices (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    ip_address TEXT,
    user_agent TEXT,
    location TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX session_devices_session_idx ON session_devices (session_id);

CREATE TABLE selfservice_flows (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    identity_id TEXT REFERENCES identities (id) ON DELETE CASCADE,
    session_id TEXT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX selfservice_flows_expires_idx ON selfservice_flows (expires_at);

CREATE TABLE selfservice_errors (
    id TEXT PRIMARY KEY NOT NULL,
    error TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
