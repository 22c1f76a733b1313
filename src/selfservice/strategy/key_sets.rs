//! What the `webauthn` and `passkey` methods do alike with an identity's keys: read them, write
//! them back as the credential of their type, and remove one in settings (never the last way to
//! sign in).

use super::ceremony;
use super::Changed;
use crate::error::Result;
use crate::identity::webauthn_keys::{KeySet, StoredKey};
use crate::identity::{Credential, Identity};
use crate::registry::Registry;
use crate::selfservice::flow::Flow;
use crate::selfservice::ui::Message;
use chrono::{DateTime, Utc};

/// The keys of the identity's credential of type `kind` (none when it has no such credential).
pub fn keys_of(identity: &Identity, kind: &str) -> KeySet {
    identity
        .credentials
        .get(kind)
        .map(|c| KeySet::from_config(&c.config))
        .unwrap_or_default()
}

/// The keys of the identity's `kind` credential for rewriting them: an error (never an empty set)
/// when the stored keys cannot be read, so no key is dropped.
pub fn keys_to_change(identity: &Identity, kind: &str) -> Result<KeySet> {
    match identity.credentials.get(kind) {
        None => Ok(KeySet::default()),
        Some(c) => KeySet::read(&c.config).map_err(|e| {
            crate::error::Error::internal(format!(
                "the stored {kind} keys of identity {} cannot be read: {e}",
                identity.id
            ))
        }),
    }
}

/// How many ways the identity can sign in with a first factor through the methods enabled now: its
/// password, each passkey, each passwordless security key (keys only with identifiers to find the
/// account by). Removing a key must leave at least one.
pub fn first_factors(r: &Registry, identity: &Identity) -> usize {
    let m = &r.config.selfservice.methods;
    let keys = |kind: &str, passwordless_only: bool| {
        identity
            .credentials
            .get(kind)
            .filter(|c| !c.identifiers.is_empty())
            .map_or(0, |c| {
                KeySet::from_config(&c.config)
                    .credentials
                    .iter()
                    .filter(|k| !passwordless_only || k.is_passwordless)
                    .count()
            })
    };
    let password = usize::from(m.password.enabled && identity.password_hash().is_some());
    let passkeys = if m.passkey.enabled {
        keys("passkey", false)
    } else {
        0
    };
    let security_keys = if m.webauthn.enabled && m.webauthn.config.passwordless {
        keys("webauthn", true)
    } else {
        0
    };
    password + passkeys + security_keys
}

/// The credential of type `kind` holding `set` (identifiers are the caller's to fill).
pub fn credential(
    kind: &str,
    set: &KeySet,
    identifiers: Vec<String>,
    now: DateTime<Utc>,
) -> Credential {
    Credential {
        kind: kind.into(),
        identifiers,
        config: set.to_config(),
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// `identity` with `set` as its credential of type `kind`, keeping when that credential began.
pub fn with_keys(
    identity: &Identity,
    kind: &str,
    set: &KeySet,
    identifiers: Vec<String>,
    now: DateTime<Utc>,
) -> Identity {
    let mut updated = identity.clone();
    let mut cred = credential(kind, set, identifiers, now);
    cred.created_at = identity.credentials.get(kind).map_or(now, |c| c.created_at);
    updated.credentials.insert(kind.into(), cred);
    updated.updated_at = now;
    updated
}

/// How a method words a remove button pointing at nothing.
pub struct RemoveTexts {
    pub unknown: &'static str,
    /// The node that carries the lock-out message.
    pub node: &'static str,
}

/// Remove the key whose id is `hex_id` from the identity's `kind` credential (the whole
/// credential with its last key) and store it, unless `locks_out` says the identity would be left
/// without a way to sign in; otherwise the reason on the flow.
pub async fn remove(
    r: &Registry,
    f: &mut Flow,
    identity: &Identity,
    kind: &str,
    hex_id: &str,
    texts: RemoveTexts,
    locks_out: impl Fn(&StoredKey) -> bool,
) -> Result<Changed> {
    let mut set = keys_to_change(identity, kind)?;
    if set.credentials.is_empty() {
        f.ui.messages.push(Message::error(
            4000001,
            "You tried to remove a WebAuthn but you have no WebAuthn set up.",
        ));
        return Ok(Changed::Invalid);
    }
    let Some(at) = set.position_of_hex(hex_id) else {
        f.ui.messages.push(Message::error(4000001, texts.unknown));
        return Ok(Changed::Invalid);
    };
    if locks_out(&set.credentials[at]) {
        ceremony::lockout(f, texts.node);
        return Ok(Changed::Invalid);
    }
    set.credentials.remove(at);
    let now = r.clock.now();
    let mut updated = identity.clone();
    if set.credentials.is_empty() {
        updated.credentials.remove(kind);
    } else if let Some(c) = updated.credentials.get_mut(kind) {
        c.config = set.to_config();
        c.updated_at = now;
    }
    updated.updated_at = now;
    r.sessions().update_identity(&updated).await?;
    Ok(Changed::Saved(Box::new(updated)))
}
