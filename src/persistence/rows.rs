//! Row structs shared by the persistence files, and their conversion to domain values.

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
     metadata_public, metadata_admin, external_id, organization_id, created_at, updated_at";

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
    pub created_at: i64,
    pub updated_at: i64,
}

impl IdentityRow {
    pub fn into_identity(self) -> Result<Identity> {
        Ok(Identity {
            id: uuid(&self.id)?,
            schema_id: self.schema_id,
            state: State::parse(&self.state).unwrap_or(State::Inactive),
            state_changed_at: self.state_changed_at.map(from_micros),
            traits: json(&self.traits)?,
            metadata_public: opt_json(self.metadata_public)?,
            metadata_admin: opt_json(self.metadata_admin)?,
            external_id: self.external_id,
            organization_id: self.organization_id.as_deref().map(uuid).transpose()?,
            verifiable_addresses: Vec::new(),
            recovery_addresses: Vec::new(),
            credentials: BTreeMap::new(),
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
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

#[derive(sqlx::FromRow)]
pub(crate) struct VerifiableRow {
    pub id: String,
    pub identity_id: String,
    pub via: String,
    pub value: String,
    pub verified: i64,
    pub status: String,
    pub verified_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl VerifiableRow {
    pub fn into_address(self) -> Result<VerifiableAddress> {
        Ok(VerifiableAddress {
            id: uuid(&self.id)?,
            value: self.value,
            verified: self.verified != 0,
            via: self.via,
            status: self.status,
            verified_at: self.verified_at.map(from_micros),
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RecoveryRow {
    pub id: String,
    pub identity_id: String,
    pub via: String,
    pub value: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl RecoveryRow {
    pub fn into_address(self) -> Result<RecoveryAddress> {
        Ok(RecoveryAddress {
            id: uuid(&self.id)?,
            value: self.value,
            via: self.via,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}
