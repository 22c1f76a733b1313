//! Identities: traits, state, metadata, credentials and addresses, and the manager that keeps the
//! credential identifiers and addresses in step with the traits the schema annotates.

pub mod addresses;
pub mod admin;
pub mod manager;
pub mod totp_key;
pub mod webauthn_keys;
pub mod wire;

use crate::aal::Aal;
use crate::ids::IdentityId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    Inactive,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Inactive => "inactive",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        match s {
            "active" => Some(State::Active),
            "inactive" => Some(State::Inactive),
            _ => None,
        }
    }
}

/// Credential types Kratos knows; `type` values outside this list are refused by the admin API.
pub const CREDENTIAL_TYPES: &[&str] = &[
    "password",
    "oidc",
    "totp",
    "lookup_secret",
    "webauthn",
    "code",
    "passkey",
    "profile",
    "saml",
    "link_recovery",
    "code_recovery",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    /// The credential type (`password`, `oidc`, …).
    pub kind: String,
    pub identifiers: Vec<String>,
    /// Type-specific configuration; for `password`, `{"hashed_password": "…"}`. Never shown unless
    /// an admin asks with `include_credential`.
    pub config: Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Serialisable for the `identities.addresses` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiableAddress {
    pub id: Uuid,
    pub value: String,
    pub verified: bool,
    pub via: String,
    /// `pending`, `sent` or `completed`.
    pub status: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryAddress {
    pub id: Uuid,
    pub value: String,
    pub via: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub id: IdentityId,
    pub schema_id: String,
    pub state: State,
    pub state_changed_at: Option<DateTime<Utc>>,
    pub traits: Value,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    pub external_id: Option<String>,
    pub organization_id: Option<Uuid>,
    pub verifiable_addresses: Vec<VerifiableAddress>,
    pub recovery_addresses: Vec<RecoveryAddress>,
    /// By credential type. Loaded only where needed (admin views, login).
    pub credentials: BTreeMap<String, Credential>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The stored version this copy was read at (optimistic concurrency); never on the wire.
    pub version: i64,
    /// The highest assurance level its credentials allowed when it was last stored (what a
    /// session check compares without loading credentials); never on the wire.
    pub available_aal: Aal,
}

impl Identity {
    pub fn new(schema_id: &str, traits: Value, now: DateTime<Utc>) -> Identity {
        Identity {
            id: IdentityId::new(),
            schema_id: schema_id.to_string(),
            state: State::Active,
            state_changed_at: Some(now),
            traits,
            metadata_public: None,
            metadata_admin: None,
            external_id: None,
            organization_id: None,
            verifiable_addresses: Vec::new(),
            recovery_addresses: Vec::new(),
            credentials: BTreeMap::new(),
            created_at: now,
            updated_at: now,
            version: 0,
            available_aal: Aal::Aal0,
        }
    }

    /// The highest assurance level the identity's credentials allow, as Kratos counts it: aal2
    /// with a second factor set up (an authenticator app, backup codes), else aal1 with any
    /// credential, else aal0. Needs the credentials loaded.
    pub fn compute_available_aal(&self) -> Aal {
        let second = |kind: &str, key: &str| {
            self.credentials
                .get(kind)
                .and_then(|c| c.config.get(key))
                .is_some_and(|v| match v {
                    Value::String(s) => !s.is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    _ => false,
                })
        };
        let mfa_key = self.credentials.get("webauthn").is_some_and(|c| {
            webauthn_keys::KeySet::from_config(&c.config)
                .credentials
                .iter()
                .any(|k| !k.is_passwordless)
        });
        if second("totp", "totp_url") || second("lookup_secret", "recovery_codes") || mfa_key {
            Aal::Aal2
        } else if self.credentials.is_empty() {
            Aal::Aal0
        } else {
            Aal::Aal1
        }
    }

    pub fn is_active(&self) -> bool {
        self.state == State::Active
    }

    pub fn password_hash(&self) -> Option<&str> {
        self.credentials
            .get("password")?
            .config
            .get("hashed_password")?
            .as_str()
            .filter(|h| !h.is_empty())
    }
}

/// Identifiers of these credential types are compared case-insensitively and stored lower-cased
/// (a passkey's identifier is its user handle, which is case-sensitive).
pub fn normalize_identifier(kind: &str, identifier: &str) -> String {
    match kind {
        "password" | "code" | "webauthn" => identifier.trim().to_lowercase(),
        _ => identifier.to_string(),
    }
}
