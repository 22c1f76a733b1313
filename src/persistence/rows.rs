//! Row structs shared by the persistence files, and their conversion to domain values.

use crate::aal::Aal;
use crate::error::{Error, Result};
use crate::identity::{Credential, Identity, RecoveryAddress, State, VerifiableAddress};
use crate::time::from_micros;
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

pub(crate) fn uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| Error::internal(format!("corrupt id {s:?} in database: {e}")))
}

pub(crate) fn json(s: &str) -> Result<Value> {
    serde_json::from_str(s).map_err(|e| Error::internal(format!("corrupt JSON in database: {e}")))
}

pub(crate) fn opt_json(s: Option<String>) -> Result<Option<Value>> {
    s.map(|s| json(&s)).transpose()
}

pub(crate) const IDENTITY_COLUMNS: &str = "id, schema_id, state, state_changed_at, traits, \
     metadata_public, metadata_admin, external_id, organization_id, addresses, created_at, updated_at, \
     version, available_aal";

/// The `identities.addresses` document.
#[derive(serde::Serialize, serde::Deserialize, Default)]
pub(crate) struct Addresses {
    #[serde(default)]
    pub verifiable: Vec<VerifiableAddress>,
    #[serde(default)]
    pub recovery: Vec<RecoveryAddress>,
}

pub(crate) fn addresses_json(identity: &Identity) -> String {
    serde_json::json!({
        "verifiable": identity.verifiable_addresses,
        "recovery": identity.recovery_addresses,
    })
    .to_string()
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdentityRow {
    pub id: String,
    pub schema_id: String,
    pub state: String,
    pub state_changed_at: Option<i64>,
    pub traits: String,
    pub metadata_public: Option<String>,
    pub metadata_admin: Option<String>,
    pub external_id: Option<String>,
    pub organization_id: Option<String>,
    pub addresses: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    pub available_aal: Option<String>,
}

impl IdentityRow {
    pub fn into_identity(self) -> Result<Identity> {
        let addresses: Addresses = serde_json::from_str(&self.addresses)
            .map_err(|e| Error::internal(format!("corrupt addresses in database: {e}")))?;
        Ok(Identity {
            id: uuid(&self.id)?.into(),
            schema_id: self.schema_id,
            state: State::parse(&self.state).unwrap_or(State::Inactive),
            state_changed_at: self.state_changed_at.map(from_micros),
            traits: json(&self.traits)?,
            metadata_public: opt_json(self.metadata_public)?,
            metadata_admin: opt_json(self.metadata_admin)?,
            external_id: self.external_id,
            organization_id: self.organization_id.as_deref().map(uuid).transpose()?,
            verifiable_addresses: addresses.verifiable,
            recovery_addresses: addresses.recovery,
            credentials: BTreeMap::new(),
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
            version: self.version,
            // Rows from before the column: a session check treats them as single-factor.
            available_aal: self
                .available_aal
                .as_deref()
                .and_then(Aal::parse)
                .unwrap_or(Aal::Aal1),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CredentialRow {
    pub identity_id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub config: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CredentialRow {
    pub fn into_credential(self) -> Result<Credential> {
        Ok(Credential {
            kind: self.kind,
            identifiers: Vec::new(),
            config: json(&self.config)?,
            version: self.version,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdentifierRow {
    pub identity_id: String,
    pub credential_type: String,
    pub identifier: String,
}
