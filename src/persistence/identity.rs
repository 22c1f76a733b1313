//! Every identity query: identities with their credentials, identifiers and addresses.

use super::rows::*;
use super::{on_unique, placeholders, Persister, Written};
use crate::error::{Error, Result};
use crate::identity::manager::CONFLICT_REASON;
use crate::identity::Identity;
use crate::ids::IdentityId;
use crate::time::to_micros;
use sqlx::{Any, Transaction};
use std::collections::HashMap;
use uuid::Uuid;

/// What `list_identities` selects. At most one filter is set (the handler enforces it).
#[derive(Debug, Default, Clone)]
pub struct IdentityQuery {
    pub ids: Vec<IdentityId>,
    /// Already normalised candidates (the identifier as given and lower-cased).
    pub credentials_identifier: Vec<String>,
    pub identifier_prefix: Option<String>,
    pub organization_id: Option<Uuid>,
    /// Keyset position: identities with an id greater than this.
    pub after_id: Option<Uuid>,
    /// Offset mode (legacy `page`/`per_page`).
    pub offset: Option<i64>,
    pub limit: i64,
    pub with_credentials: bool,
}

impl Persister {
    /// Insert an identity with its credentials, identifiers and addresses in one transaction.
    pub async fn create_identity(&self, identity: &Identity) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO identities ({IDENTITY_COLUMNS}) VALUES ({})",
            placeholders(0, 14)
        ))
        .bind(identity.id.to_string())
        .bind(&identity.schema_id)
        .bind(identity.state.as_str())
        .bind(identity.state_changed_at.map(to_micros))
        .bind(identity.traits.to_string())
        .bind(identity.metadata_public.as_ref().map(|v| v.to_string()))
        .bind(identity.metadata_admin.as_ref().map(|v| v.to_string()))
        .bind(identity.external_id.clone().filter(|e| !e.is_empty()))
        .bind(identity.organization_id.map(|o| o.to_string()))
        .bind(addresses_json(identity))
        .bind(to_micros(identity.created_at))
        .bind(to_micros(identity.updated_at))
        .bind(identity.version)
        .bind(identity.compute_available_aal().as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| on_unique(e, CONFLICT_REASON))?;
        insert_children(&mut tx, identity).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replace an identity's fields, credentials, identifiers and addresses in one transaction, if
    /// it is still at the version it was read at ([`Error::Stale`] when another write came first).
    /// Returns false when the identity does not exist.
    pub async fn update_identity(&self, identity: &Identity) -> Result<Written<bool>> {
        let updated = self.update_identity_rows(identity).await?;
        Ok(Written::of(updated, identity.id, updated))
    }

    /// The transaction of [`Persister::update_identity`].
    async fn update_identity_rows(&self, identity: &Identity) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let updated = sqlx::query(
            "UPDATE identities SET schema_id = $1, state = $2, state_changed_at = $3, traits = $4, \
             metadata_public = $5, metadata_admin = $6, external_id = $7, organization_id = $8, \
             updated_at = $9, addresses = $10, version = version + 1, available_aal = $13 \
             WHERE id = $11 AND version = $12",
        )
        .bind(&identity.schema_id)
        .bind(identity.state.as_str())
        .bind(identity.state_changed_at.map(to_micros))
        .bind(identity.traits.to_string())
        .bind(identity.metadata_public.as_ref().map(|v| v.to_string()))
        .bind(identity.metadata_admin.as_ref().map(|v| v.to_string()))
        .bind(identity.external_id.clone().filter(|e| !e.is_empty()))
        .bind(identity.organization_id.map(|o| o.to_string()))
        .bind(to_micros(identity.updated_at))
        .bind(addresses_json(identity))
        .bind(identity.id.to_string())
        .bind(identity.version)
        .bind(identity.compute_available_aal().as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| on_unique(e, CONFLICT_REASON))?
        .rows_affected();
        if updated == 0 {
            let exists: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM identities WHERE id = $1")
                    .bind(identity.id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            return match exists {
                Some(_) => Err(Error::Stale),
                None => Ok(false),
            };
        }
        let id = identity.id.to_string();
        for table in [
            "identity_credentials",
            "identity_credential_identifiers",
            "identity_verifiable_addresses",
            "identity_recovery_addresses",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE identity_id = $1"))
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        insert_children(&mut tx, identity).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn get_identity(
        &self,
        id: IdentityId,
        with_credentials: bool,
    ) -> Result<Option<Identity>> {
        self.get_identity_where("id", &id.to_string(), with_credentials)
            .await
    }

    pub async fn get_identity_by_external_id(
        &self,
        external_id: &str,
        with_credentials: bool,
    ) -> Result<Option<Identity>> {
        self.get_identity_where("external_id", external_id, with_credentials)
            .await
    }

    /// The identity whose `column` (a unique one, named by this file) is `value`.
    async fn get_identity_where(
        &self,
        column: &'static str,
        value: &str,
        with_credentials: bool,
    ) -> Result<Option<Identity>> {
        let row: Option<IdentityRow> = sqlx::query_as(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE {column} = $1"
        ))
        .bind(value)
        .fetch_optional(&self.read)
        .await?;
        Ok(self
            .hydrate(row.into_iter().collect(), with_credentials)
            .await?
            .pop())
    }

    /// The identity owning `identifier` for a credential type, with its credentials (for login).
    pub async fn find_identity_by_identifier(
        &self,
        credential_type: &str,
        identifier: &str,
    ) -> Result<Option<Identity>> {
        let row: Option<IdentityRow> = sqlx::query_as(&format!(
            "SELECT {} FROM identities i JOIN identity_credential_identifiers c \
             ON c.identity_id = i.id WHERE c.credential_type = $1 AND c.identifier = $2",
            IDENTITY_COLUMNS
                .split(", ")
                .map(|c| format!("i.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(credential_type)
        .bind(identifier)
        .fetch_optional(&self.read)
        .await?;
        Ok(self.hydrate(row.into_iter().collect(), true).await?.pop())
    }

    pub async fn list_identities(&self, q: &IdentityQuery) -> Result<Vec<Identity>> {
        let cols = IDENTITY_COLUMNS
            .split(", ")
            .map(|c| format!("i.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!("SELECT {cols} FROM identities i");
        let mut conds: Vec<String> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if !q.credentials_identifier.is_empty() || q.identifier_prefix.is_some() {
            sql.push_str(" WHERE i.id IN (SELECT c.identity_id FROM identity_credential_identifiers c WHERE ");
            if let Some(prefix) = &q.identifier_prefix {
                sql.push_str(&format!(
                    "c.identifier LIKE ${} ESCAPE '\\')",
                    binds.len() + 1
                ));
                let escaped = prefix
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                binds.push(format!("{escaped}%"));
            } else {
                sql.push_str(&format!(
                    "c.identifier IN ({}))",
                    placeholders(binds.len(), q.credentials_identifier.len())
                ));
                binds.extend(q.credentials_identifier.iter().cloned());
            }
        } else {
            sql.push_str(" WHERE 1 = 1");
        }
        if !q.ids.is_empty() {
            conds.push(format!(
                "i.id IN ({})",
                placeholders(binds.len(), q.ids.len())
            ));
            binds.extend(q.ids.iter().map(|i| i.to_string()));
        }
        if let Some(org) = q.organization_id {
            conds.push(format!("i.organization_id = ${}", binds.len() + 1));
            binds.push(org.to_string());
        }
        if let Some(after) = q.after_id {
            conds.push(format!("i.id > ${}", binds.len() + 1));
            binds.push(after.to_string());
        }
        for c in conds {
            sql.push_str(" AND ");
            sql.push_str(&c);
        }
        sql.push_str(&format!(" ORDER BY i.id ASC LIMIT ${}", binds.len() + 1));
        if q.offset.is_some() {
            sql.push_str(&format!(" OFFSET ${}", binds.len() + 2));
        }
        let mut query = sqlx::query_as::<_, IdentityRow>(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        query = query.bind(q.limit);
        if let Some(offset) = q.offset {
            query = query.bind(offset);
        }
        let rows = query.fetch_all(&self.read).await?;
        self.hydrate(rows, q.with_credentials).await
    }

    pub async fn count_identities(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM identities")
            .fetch_one(&self.read)
            .await?;
        Ok(n)
    }

    /// Delete an identity; its credentials, addresses and sessions go with it. False if unknown.
    pub async fn delete_identity(&self, id: IdentityId) -> Result<Written<bool>> {
        let n = sqlx::query("DELETE FROM identities WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(Written::of(n > 0, id, n > 0))
    }

    /// Attach addresses (and credentials when asked) to identity rows, one query per table.
    async fn hydrate(
        &self,
        rows: Vec<IdentityRow>,
        with_credentials: bool,
    ) -> Result<Vec<Identity>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut out: Vec<Identity> = rows
            .into_iter()
            .map(IdentityRow::into_identity)
            .collect::<Result<_>>()?;
        let index: HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let ph = placeholders(0, ids.len());

        if with_credentials {
            let sql = format!(
                "SELECT identity_id, type, config, version, created_at, updated_at \
                 FROM identity_credentials WHERE identity_id IN ({ph})"
            );
            let mut q = sqlx::query_as::<_, CredentialRow>(&sql);
            for id in &ids {
                q = q.bind(id);
            }
            for row in q.fetch_all(&self.read).await? {
                let i = index[&row.identity_id];
                let cred = row.into_credential()?;
                out[i].credentials.insert(cred.kind.clone(), cred);
            }
            let sql = format!(
                "SELECT identity_id, credential_type, identifier \
                 FROM identity_credential_identifiers WHERE identity_id IN ({ph}) ORDER BY position"
            );
            let mut q = sqlx::query_as::<_, IdentifierRow>(&sql);
            for id in &ids {
                q = q.bind(id);
            }
            for row in q.fetch_all(&self.read).await? {
                let i = index[&row.identity_id];
                if let Some(c) = out[i].credentials.get_mut(&row.credential_type) {
                    c.identifiers.push(row.identifier);
                }
            }
        }
        Ok(out)
    }
}

async fn insert_children(tx: &mut Transaction<'static, Any>, identity: &Identity) -> Result<()> {
    let id = identity.id.to_string();
    for cred in identity.credentials.values() {
        sqlx::query(
            "INSERT INTO identity_credentials (id, identity_id, type, config, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&id)
        .bind(&cred.kind)
        .bind(cred.config.to_string())
        .bind(cred.version)
        .bind(to_micros(cred.created_at))
        .bind(to_micros(cred.updated_at))
        .execute(&mut **tx)
        .await?;
        for (pos, identifier) in cred.identifiers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO identity_credential_identifiers \
                 (id, identity_id, credential_type, identifier, position, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::new_v4().to_string())
            .bind(&id)
            .bind(&cred.kind)
            .bind(identifier)
            .bind(pos as i64)
            .bind(to_micros(cred.created_at))
            .bind(to_micros(cred.updated_at))
            .execute(&mut **tx)
            .await
            .map_err(|e| on_unique(e, CONFLICT_REASON))?;
        }
    }
    for (pos, a) in identity.verifiable_addresses.iter().enumerate() {
        sqlx::query(
            "INSERT INTO identity_verifiable_addresses \
             (id, identity_id, via, value, verified, status, verified_at, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(a.id.to_string())
        .bind(&id)
        .bind(&a.via)
        .bind(&a.value)
        .bind(a.verified as i64)
        .bind(&a.status)
        .bind(a.verified_at.map(to_micros))
        .bind(pos as i64)
        .bind(to_micros(a.created_at))
        .bind(to_micros(a.updated_at))
        .execute(&mut **tx)
        .await
        .map_err(|e| on_unique(e, CONFLICT_REASON))?;
    }
    for (pos, a) in identity.recovery_addresses.iter().enumerate() {
        sqlx::query(
            "INSERT INTO identity_recovery_addresses \
             (id, identity_id, via, value, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(a.id.to_string())
        .bind(&id)
        .bind(&a.via)
        .bind(&a.value)
        .bind(pos as i64)
        .bind(to_micros(a.created_at))
        .bind(to_micros(a.updated_at))
        .execute(&mut **tx)
        .await
        .map_err(|e| on_unique(e, CONFLICT_REASON))?;
    }
    Ok(())
}
