//! One-time codes and link tokens of recovery and verification, stored as SHA-256 digests.

use super::rows::uuid;
use super::Persister;
use crate::error::Result;
use crate::ids::IdentityId;
use crate::time::to_micros;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A stored code, found by its digest.
#[derive(Debug, Clone)]
pub struct StoredCode {
    pub id: Uuid,
    pub flow_id: Uuid,
    pub identity_id: Option<IdentityId>,
    pub address: String,
    pub expired: bool,
    pub used: bool,
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    id: String,
    flow_id: String,
    identity_id: Option<String>,
    address: String,
    expires_at: i64,
    used_at: Option<i64>,
}

/// A code to store: its kind (`recovery_code`, `verification_link`, …) and digest, whom it is for.
pub struct NewCode<'a> {
    pub flow_id: Uuid,
    pub kind: &'a str,
    pub code_hash: &'a str,
    pub identity_id: Option<IdentityId>,
    pub address: &'a str,
    pub expires_at: DateTime<Utc>,
}

impl Persister {
    pub async fn create_code(&self, c: NewCode<'_>, now: DateTime<Utc>) -> Result<()> {
        let NewCode {
            flow_id,
            kind,
            code_hash,
            identity_id,
            address,
            expires_at,
        } = c;
        sqlx::query(
            "INSERT INTO selfservice_codes (id, flow_id, kind, code_hash, identity_id, address, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(flow_id.to_string())
        .bind(kind)
        .bind(code_hash)
        .bind(identity_id.map(|i| i.to_string()))
        .bind(address)
        .bind(to_micros(expires_at))
        .bind(to_micros(now))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The code with this digest (of this kind, and of this flow when given).
    pub async fn find_code(
        &self,
        kind: &str,
        code_hash: &str,
        flow_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredCode>> {
        let row: Option<CodeRow> = sqlx::query_as(
            "SELECT id, flow_id, identity_id, address, expires_at, used_at FROM selfservice_codes \
             WHERE kind = $1 AND code_hash = $2 AND ($3 = '' OR flow_id = $3)",
        )
        .bind(kind)
        .bind(code_hash)
        .bind(flow_id.map(|f| f.to_string()).unwrap_or_default())
        .fetch_optional(&self.read)
        .await?;
        row.map(|c| {
            Ok(StoredCode {
                id: uuid(&c.id)?,
                flow_id: uuid(&c.flow_id)?,
                identity_id: c
                    .identity_id
                    .as_deref()
                    .map(uuid)
                    .transpose()?
                    .map(IdentityId),
                address: c.address,
                expired: c.expires_at <= to_micros(now),
                used: c.used_at.is_some(),
            })
        })
        .transpose()
    }

    /// Mark a code used; false when it was used already (a concurrent submission won).
    pub async fn use_code(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE selfservice_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(id.to_string())
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Invalidate every unused code of a flow (a new code replaces them).
    pub async fn invalidate_flow_codes(&self, flow_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE selfservice_codes SET used_at = $1 WHERE flow_id = $2 AND used_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(flow_id.to_string())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The identity owning a verifiable (or recovery) address, if any.
    pub async fn find_identity_by_address(
        &self,
        table: AddressTable,
        via: &str,
        value: &str,
    ) -> Result<Option<IdentityId>> {
        let sql = match table {
            AddressTable::Verifiable => "SELECT identity_id FROM identity_verifiable_addresses WHERE via = $1 AND value = $2",
            AddressTable::Recovery => "SELECT identity_id FROM identity_recovery_addresses WHERE via = $1 AND value = $2",
        };
        let row: Option<(String,)> = sqlx::query_as(sql)
            .bind(via)
            .bind(value)
            .fetch_optional(&self.read)
            .await?;
        row.map(|(id,)| uuid(&id).map(IdentityId)).transpose()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum AddressTable {
    Verifiable,
    Recovery,
}
