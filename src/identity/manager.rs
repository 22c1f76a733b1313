//! Keeps an identity consistent before it is written: traits valid against its schema, credential
//! identifiers and verifiable/recovery addresses derived from the annotated traits.

use super::{normalize_identifier, Identity, RecoveryAddress, VerifiableAddress};
use crate::error::{ApiError, Error, Result};
use crate::schema::{Schemas, TraitError};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

/// The identifiers of credential type `kind`: the values of the traits `marked` for it,
/// normalised as that type compares them, once each.
fn identifiers_of(
    values: &[crate::schema::TraitValue<'_>],
    kind: &str,
    marked: fn(&crate::schema::TraitExtension) -> bool,
) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for v in values.iter().filter(|v| marked(v.ext)) {
        let id = normalize_identifier(kind, &v.value);
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Validate the traits and derive identifiers and addresses. `now` stamps new addresses.
pub fn prepare(schemas: &Schemas, identity: &mut Identity, now: DateTime<Utc>) -> Result<()> {
    let schema = schemas.get(&identity.schema_id).ok_or_else(|| {
        Error::bad_request(format!(
            "Unable to find JSON Schema ID: {}",
            identity.schema_id
        ))
    })?;
    // Store the canonical id even when the caller used the base64 form.
    identity.schema_id = schema.id.clone();
    schema
        .validate_traits(&identity.traits)
        .map_err(|errors| validation_error(&errors))?;

    let values = schema.trait_values(&identity.traits);

    // Credential identifiers for credential types the identity has.
    if let Some(cred) = identity.credentials.get_mut("password") {
        cred.identifiers = identifiers_of(&values, "password", |e| e.password_identifier);
    }
    if let Some(cred) = identity.credentials.get_mut("webauthn") {
        cred.identifiers = identifiers_of(&values, "webauthn", |e| e.webauthn_identifier);
    }

    // Verifiable addresses: keep the state of those that stay, add new ones as pending.
    let mut verifiable = Vec::new();
    for v in values.iter() {
        let Some(via) = v.ext.verification_via.as_deref() else {
            continue;
        };
        let value = normalize_address(via, &v.value);
        if value.is_empty()
            || verifiable
                .iter()
                .any(|a: &VerifiableAddress| a.via == via && a.value == value)
        {
            continue;
        }
        let existing = identity
            .verifiable_addresses
            .iter()
            .find(|a| a.via == via && a.value == value)
            .cloned();
        verifiable.push(existing.unwrap_or_else(|| VerifiableAddress {
            id: Uuid::new_v4(),
            value,
            verified: false,
            via: via.to_string(),
            status: "pending".into(),
            verified_at: None,
            created_at: now,
            updated_at: now,
        }));
    }
    identity.verifiable_addresses = verifiable;

    let mut recovery = Vec::new();
    for v in values.iter() {
        let Some(via) = v.ext.recovery_via.as_deref() else {
            continue;
        };
        let value = normalize_address(via, &v.value);
        if value.is_empty()
            || recovery
                .iter()
                .any(|a: &RecoveryAddress| a.via == via && a.value == value)
        {
            continue;
        }
        let existing = identity
            .recovery_addresses
            .iter()
            .find(|a| a.via == via && a.value == value)
            .cloned();
        recovery.push(existing.unwrap_or_else(|| RecoveryAddress {
            id: Uuid::new_v4(),
            value,
            via: via.to_string(),
            created_at: now,
            updated_at: now,
        }));
    }
    identity.recovery_addresses = recovery;
    Ok(())
}

/// Email addresses are compared and stored lower-cased and trimmed; phone numbers trimmed.
pub fn normalize_address(via: &str, value: &str) -> String {
    match via {
        "email" => value.trim().to_lowercase(),
        _ => value.trim().to_string(),
    }
}

/// A 400 naming every invalid field (admin API form of a trait validation failure).
pub fn validation_error(errors: &[TraitError]) -> Error {
    let reason = errors
        .iter()
        .map(|e| format!("#{}: {}", e.pointer, e.text))
        .collect::<Vec<_>>()
        .join("; ");
    let details: Vec<_> = errors
        .iter()
        .map(|e| json!({"instance_ptr": format!("#{}", e.pointer), "message": e.text, "id": e.message_id}))
        .collect();
    ApiError::new(400)
        .with_reason(format!("The JSON payload is invalid: {reason}"))
        .with_message("The request was malformed or contained invalid parameters")
        .with_detail("validation_errors", details)
        .into()
}

/// The 409 answer for a duplicate identifier or external id.
pub const CONFLICT_REASON: &str =
    "This identity conflicts with another identity that already exists.";
