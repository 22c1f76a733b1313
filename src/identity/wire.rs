//! The identity JSON exactly as Kratos shapes it, for the public view (sessions) and the admin view.

use super::{Credential, Identity, RecoveryAddress, VerifiableAddress};
use crate::time::rfc3339;
use serde_json::{json, Map, Value};

/// What the caller may see of an identity.
pub enum View<'a> {
    /// Inside a session: no credentials, no `metadata_admin`.
    Public,
    /// Admin endpoints: credentials without their `config`, except for the listed types.
    Admin { include_credential: &'a [String] },
}

pub fn identity_json(identity: &Identity, public_base: &str, view: View<'_>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(identity.id));
    if let View::Admin { include_credential } = &view {
        let creds: Map<String, Value> = identity
            .credentials
            .iter()
            .map(|(k, c)| {
                (
                    k.clone(),
                    credential_json(c, include_credential.iter().any(|t| t == k)),
                )
            })
            .collect();
        m.insert("credentials".into(), Value::Object(creds));
    }
    m.insert("schema_id".into(), json!(identity.schema_id));
    m.insert(
        "schema_url".into(),
        json!(crate::schema::schema_url(public_base, &identity.schema_id)),
    );
    m.insert("state".into(), json!(identity.state.as_str()));
    if let Some(t) = &identity.state_changed_at {
        m.insert("state_changed_at".into(), json!(rfc3339(t)));
    }
    m.insert("traits".into(), identity.traits.clone());
    if !identity.verifiable_addresses.is_empty() {
        m.insert(
            "verifiable_addresses".into(),
            identity
                .verifiable_addresses
                .iter()
                .map(verifiable_json)
                .collect(),
        );
    }
    if !identity.recovery_addresses.is_empty() {
        m.insert(
            "recovery_addresses".into(),
            identity
                .recovery_addresses
                .iter()
                .map(recovery_json)
                .collect(),
        );
    }
    m.insert(
        "metadata_public".into(),
        identity.metadata_public.clone().unwrap_or(Value::Null),
    );
    if let View::Admin { .. } = view {
        m.insert(
            "metadata_admin".into(),
            identity.metadata_admin.clone().unwrap_or(Value::Null),
        );
    }
    if let Some(e) = identity.external_id.as_deref().filter(|e| !e.is_empty()) {
        m.insert("external_id".into(), json!(e));
    }
    if let Some(o) = &identity.organization_id {
        m.insert("organization_id".into(), json!(o));
    }
    m.insert("created_at".into(), json!(rfc3339(&identity.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(&identity.updated_at)));
    Value::Object(m)
}

fn credential_json(c: &Credential, with_config: bool) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(c.kind));
    m.insert("identifiers".into(), json!(c.identifiers));
    if with_config {
        let mut config = c.config.clone();
        // An authenticator app's key is shown once, when it is set up, and never again.
        if c.kind == "totp" {
            if let Some(o) = config.as_object_mut() {
                o.remove("totp_url");
            }
        }
        m.insert("config".into(), config);
    }
    m.insert("version".into(), json!(c.version));
    m.insert("created_at".into(), json!(rfc3339(&c.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(&c.updated_at)));
    Value::Object(m)
}

pub fn verifiable_json(a: &VerifiableAddress) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.id));
    m.insert("value".into(), json!(a.value));
    m.insert("verified".into(), json!(a.verified));
    m.insert("via".into(), json!(a.via));
    m.insert("status".into(), json!(a.status));
    if let Some(t) = &a.verified_at {
        m.insert("verified_at".into(), json!(rfc3339(t)));
    }
    m.insert("created_at".into(), json!(rfc3339(&a.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(&a.updated_at)));
    Value::Object(m)
}

pub fn recovery_json(a: &RecoveryAddress) -> Value {
    json!({
        "id": a.id,
        "value": a.value,
        "via": a.via,
        "created_at": rfc3339(&a.created_at),
        "updated_at": rfc3339(&a.updated_at),
    })
}
