//! The after-hooks Ostiary runs, read from `selfservice.flows.<flow>.after.hooks` and
//! `selfservice.flows.<flow>.after.<method>.hooks`: `session` (registration),
//! `require_verified_address` (login) and `revoke_active_sessions` (settings). Other hooks are
//! named in the start-up warning and not run.

use super::flow::FlowType;
use super::request::FlowRequest;
use crate::error::{id, ApiError, Result};
use crate::identity::{normalize_identifier, Identity};
use crate::registry::Registry;
use serde_json::Value;

/// Whether hook `name` is configured after `flow` for `method` (or for every method).
fn configured(after: &Value, method: &str, name: &str) -> bool {
    let has = |hooks: Option<&Value>| {
        hooks.and_then(Value::as_array).is_some_and(|hs| {
            hs.iter()
                .any(|h| h.get("hook").and_then(Value::as_str) == Some(name))
        })
    };
    has(after.pointer(&format!("/{method}/hooks"))) || has(after.get("hooks"))
}

/// `session` after registration by `method`: the new identity is logged in.
pub fn session_after_registration(r: &Registry, method: &str) -> bool {
    configured(
        &r.config.selfservice.flows.registration.after,
        method,
        "session",
    )
}

/// `revoke_active_sessions` after a settings change by `method`.
pub fn revoke_after_settings(r: &Registry, method: &str) -> bool {
    configured(
        &r.config.selfservice.flows.settings.after,
        method,
        "revoke_active_sessions",
    )
}

/// `require_verified_address` after login by `method`: a login through an address that is not
/// verified is refused with 403 and verification flows for it (sent at once).
pub async fn require_verified_address(
    r: &Registry,
    req: &FlowRequest,
    flow_type: FlowType,
    method: &str,
    identity: &Identity,
    identifier: &str,
) -> Result<()> {
    if !configured(
        &r.config.selfservice.flows.login.after,
        method,
        "require_verified_address",
    ) {
        return Ok(());
    }
    let address = normalize_identifier(method, identifier);
    // A method without an address as its identifier (a passkey, a security key) needs some
    // verified address of the identity.
    let by_address = matches!(method, "password" | "code");
    let verified = identity
        .verifiable_addresses
        .iter()
        .any(|a| a.verified && (!by_address || a.value == address));
    if verified {
        return Ok(());
    }
    let pending = Identity {
        verifiable_addresses: identity
            .verifiable_addresses
            .iter()
            .filter(|a| !by_address || a.value == address)
            .cloned()
            .collect(),
        ..identity.clone()
    };
    let continue_with =
        super::verification::start_for_addresses(r, &pending, flow_type, req).await?;
    Err(ApiError::new(403)
        .with_id(id::SESSION_VERIFIED_ADDRESS_REQUIRED)
        .with_reason("Your account's email or phone address are not verified yet. Please check your email or phone inbox or re-request verification.")
        .with_message("The requested action was forbidden")
        .with_detail("continue_with", Value::Array(continue_with))
        .into())
}
