//! What the admin API does to identities, apart from storing them: building one from a create
//! (or batch) body, replacing one from a PUT body, and applying a JSON Patch to its admin
//! representation. Every result is validated against its schema ([`super::manager::prepare`])
//! by the caller before it is stored.

use super::manager::{self, normalize_address};
use super::wire::{identity_json, View};
use super::{Credential, Identity, RecoveryAddress, State, VerifiableAddress};
use crate::error::{Error, Result};
use crate::hash::pool::Hasher;
use crate::schema::Schemas;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CreateIdentityBody {
    pub schema_id: Option<String>,
    pub traits: Option<Value>,
    pub state: Option<String>,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    pub external_id: Option<String>,
    pub organization_id: Option<Uuid>,
    pub verifiable_addresses: Option<Vec<AddressBody>>,
    pub recovery_addresses: Option<Vec<AddressBody>>,
    pub credentials: Option<CredentialsBody>,
}

#[derive(Deserialize, Clone)]
pub struct AddressBody {
    pub value: String,
    pub via: String,
    #[serde(default)]
    pub verified: bool,
    pub status: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    pub password: Option<PasswordImport>,
    pub oidc: Option<Value>,
    pub saml: Option<Value>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct PasswordImport {
    pub config: Option<PasswordImportConfig>,
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct PasswordImportConfig {
    pub password: Option<String>,
    pub hashed_password: Option<String>,
    pub use_password_migration_hook: Option<bool>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct UpdateIdentityBody {
    pub schema_id: Option<String>,
    pub traits: Option<Value>,
    pub state: Option<String>,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    pub external_id: Option<String>,
    pub credentials: Option<CredentialsBody>,
}

pub fn parse_state(s: Option<&str>) -> Result<Option<State>> {
    match s {
        None => Ok(None),
        Some(s) => State::parse(s).map(Some).ok_or_else(|| {
            Error::bad_request(format!(
                "The identity state {s:?} is invalid; use \"active\" or \"inactive\"."
            ))
        }),
    }
}

/// Turn an import body into a password credential (hashing a plaintext password off the runtime).
pub async fn password_credential(
    hasher: &Hasher,
    import: &PasswordImport,
    now: DateTime<Utc>,
) -> Result<Option<Credential>> {
    let cfg = import.config.clone().unwrap_or_default();
    let config = if let Some(hash) = cfg.hashed_password.filter(|h| !h.is_empty()) {
        if !crate::hash::is_importable(&hash) {
            return Err(Error::bad_request(
                "The imported password does not match any known hash format. For more information see https://www.ory.sh/dr/2",
            ));
        }
        json!({ "hashed_password": hash })
    } else if let Some(password) = cfg.password.filter(|p| !p.is_empty()) {
        let hash = hasher.hash(password).await.map_err(|e| match e {
            crate::hash::HashError::PasswordTooLong { max } => Error::bad_request(format!(
                "The password must be at most {max} characters long."
            )),
            other => Error::internal(format!("hashing failed: {other}")),
        })?;
        json!({ "hashed_password": hash })
    } else if cfg.use_password_migration_hook == Some(true) {
        json!({ "use_password_migration_hook": true })
    } else {
        return Ok(None);
    };
    Ok(Some(Credential {
        kind: "password".into(),
        identifiers: Vec::new(),
        config,
        version: 0,
        created_at: now,
        updated_at: now,
    }))
}

fn addresses_from_body(identity: &mut Identity, body: &CreateIdentityBody, now: DateTime<Utc>) {
    if let Some(list) = &body.verifiable_addresses {
        identity.verifiable_addresses = list
            .iter()
            .map(|a| VerifiableAddress {
                id: Uuid::new_v4(),
                value: normalize_address(&a.via, &a.value),
                verified: a.verified,
                via: a.via.clone(),
                status: a
                    .status
                    .clone()
                    .unwrap_or_else(|| if a.verified { "completed" } else { "pending" }.into()),
                verified_at: a.verified_at.or(a.verified.then_some(now)),
                created_at: now,
                updated_at: now,
            })
            .collect();
    }
    if let Some(list) = &body.recovery_addresses {
        identity.recovery_addresses = list
            .iter()
            .map(|a| RecoveryAddress {
                id: Uuid::new_v4(),
                value: normalize_address(&a.via, &a.value),
                via: a.via.clone(),
                created_at: now,
                updated_at: now,
            })
            .collect();
    }
}

/// A new identity from a create body, validated against its schema (not yet stored).
pub async fn build(
    schemas: &Schemas,
    hasher: &Hasher,
    body: CreateIdentityBody,
    now: DateTime<Utc>,
) -> Result<Identity> {
    let schema_id = body
        .schema_id
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::bad_request("schema_id is required"))?;
    let traits = body
        .traits
        .clone()
        .ok_or_else(|| Error::bad_request("traits are required"))?;
    let mut identity = Identity::new(&schema_id, traits, now);
    if let Some(state) = parse_state(body.state.as_deref())? {
        identity.state = state;
    }
    identity.metadata_public = body.metadata_public.clone().filter(|v| !v.is_null());
    identity.metadata_admin = body.metadata_admin.clone().filter(|v| !v.is_null());
    identity.external_id = body.external_id.clone().filter(|e| !e.is_empty());
    identity.organization_id = body.organization_id;
    addresses_from_body(&mut identity, &body, now);
    if let Some(creds) = &body.credentials {
        if let Some(pw) = &creds.password {
            if let Some(c) = password_credential(hasher, pw, now).await? {
                identity.credentials.insert("password".into(), c);
            }
        }
        if creds.oidc.is_some() || creds.saml.is_some() {
            return Err(Error::bad_request(
                "Importing oidc or saml credentials is not supported by this server yet.",
            ));
        }
    }
    manager::prepare(schemas, &mut identity, now)?;
    Ok(identity)
}

/// Move an identity to `state` (when given), stamping the change.
fn set_state(identity: &mut Identity, state: Option<State>, now: DateTime<Utc>) {
    if let Some(state) = state {
        if state != identity.state {
            identity.state = state;
            identity.state_changed_at = Some(now);
        }
    }
}

/// `PUT /admin/identities/{id}`: replace traits, metadata and external id; schema, state and a
/// password when given.
pub async fn replace(
    identity: &mut Identity,
    body: UpdateIdentityBody,
    hasher: &Hasher,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(schema_id) = body.schema_id.filter(|s| !s.is_empty()) {
        identity.schema_id = schema_id;
    }
    set_state(identity, parse_state(body.state.as_deref())?, now);
    identity.traits = body
        .traits
        .ok_or_else(|| Error::bad_request("traits are required"))?;
    identity.metadata_public = body.metadata_public.filter(|v| !v.is_null());
    identity.metadata_admin = body.metadata_admin.filter(|v| !v.is_null());
    identity.external_id = body.external_id.filter(|e| !e.is_empty());
    if let Some(pw) = body.credentials.as_ref().and_then(|c| c.password.as_ref()) {
        if let Some(c) = password_credential(hasher, pw, now).await? {
            identity.credentials.insert("password".into(), c);
        }
    }
    Ok(())
}

/// Paths a JSON Patch may not touch (what the server owns).
const UNPATCHABLE: [&str; 7] = [
    "/id",
    "/stateChangedAt",
    "/state_changed_at",
    "/credentials",
    "/created_at",
    "/updated_at",
    "/schema_url",
];

/// `PATCH /admin/identities/{id}`: an RFC 6902 patch applied to the identity's admin
/// representation (as served under `public_base`), and the result taken back.
pub fn patch(
    identity: &mut Identity,
    patch: Value,
    public_base: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let patch_error = || Error::bad_request("An error occured when applying the JSON patch");
    let patch: json_patch::Patch = serde_json::from_value(patch).map_err(|_| patch_error())?;
    for op in patch.iter() {
        let path = match op {
            json_patch::PatchOperation::Add(o) => o.path.to_string(),
            json_patch::PatchOperation::Remove(o) => o.path.to_string(),
            json_patch::PatchOperation::Replace(o) => o.path.to_string(),
            json_patch::PatchOperation::Move(o) => o.path.to_string(),
            json_patch::PatchOperation::Copy(o) => o.path.to_string(),
            json_patch::PatchOperation::Test(o) => o.path.to_string(),
        };
        if UNPATCHABLE
            .iter()
            .any(|b| path == *b || path.starts_with(&format!("{b}/")))
        {
            return Err(patch_error());
        }
    }
    let view = View::Admin {
        include_credential: &[],
    };
    let mut doc = identity_json(identity, public_base, view);
    json_patch::patch(&mut doc, &patch).map_err(|_| patch_error())?;
    let str_field = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(schema_id) = str_field("schema_id") {
        identity.schema_id = schema_id;
    }
    set_state(identity, parse_state(str_field("state").as_deref())?, now);
    identity.traits = doc.get("traits").cloned().unwrap_or(Value::Null);
    identity.metadata_public = doc.get("metadata_public").cloned().filter(|v| !v.is_null());
    identity.metadata_admin = doc.get("metadata_admin").cloned().filter(|v| !v.is_null());
    identity.external_id = str_field("external_id").filter(|e| !e.is_empty());
    identity.organization_id = match doc.get("organization_id") {
        Some(Value::String(s)) => Some(Uuid::parse_str(s).map_err(Error::bad_uuid)?),
        _ => None,
    };
    // Verification state changes made through the patch are kept for addresses still in the traits.
    if let Some(list) = doc.get("verifiable_addresses").and_then(Value::as_array) {
        for (addr, patched) in identity.verifiable_addresses.iter_mut().zip(list) {
            if let Some(v) = patched.get("verified").and_then(Value::as_bool) {
                addr.verified = v;
            }
            if let Some(s) = patched.get("status").and_then(Value::as_str) {
                addr.status = s.to_string();
            }
        }
    }
    Ok(())
}
