//! The session JSON exactly as Kratos shapes it.

use super::{AuthenticationMethod, Device, Session};
use crate::identity::wire::{identity_json, View};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// Which parts to include: `identity` and `devices` are `null` unless expanded.
#[derive(Debug, Clone, Copy)]
pub struct Expand {
    pub identity: bool,
    pub devices: bool,
}

pub fn session_json(s: &Session, now: DateTime<Utc>, public_base: &str, expand: Expand) -> Value {
    serde_json::to_value(SessionWire::new(s, now, public_base, expand)).unwrap_or(Value::Null)
}

/// The session as Kratos shapes it, serialized straight from the session (lists of sessions are
/// written without building a JSON tree first). Field order is Kratos's.
#[derive(Serialize)]
pub struct SessionWire<'a> {
    id: crate::ids::SessionId,
    active: bool,
    #[serde(serialize_with = "crate::time::serialize")]
    expires_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    authenticated_at: DateTime<Utc>,
    authenticator_assurance_level: &'a str,
    authentication_methods: &'a [AuthenticationMethod],
    #[serde(serialize_with = "crate::time::serialize")]
    issued_at: DateTime<Utc>,
    identity: Option<Value>,
    devices: Option<Vec<DeviceWire<'a>>>,
}

#[derive(Serialize)]
struct DeviceWire<'a> {
    id: Uuid,
    ip_address: &'a str,
    user_agent: &'a str,
    location: &'a str,
}

impl<'a> SessionWire<'a> {
    pub fn new(s: &'a Session, now: DateTime<Utc>, public_base: &str, expand: Expand) -> Self {
        SessionWire {
            id: s.id,
            active: s.is_active(now),
            expires_at: s.expires_at,
            authenticated_at: s.authenticated_at,
            authenticator_assurance_level: s.aal.as_str(),
            authentication_methods: &s.authentication_methods,
            issued_at: s.issued_at,
            identity: match (&s.identity, expand.identity) {
                (Some(i), true) => Some(identity_json(i, public_base, View::Public)),
                _ => None,
            },
            devices: expand.devices.then(|| {
                s.devices
                    .iter()
                    .map(|d: &'a Device| DeviceWire {
                        id: d.id,
                        ip_address: d.ip_address.as_deref().unwrap_or_default(),
                        user_agent: d.user_agent.as_deref().unwrap_or_default(),
                        location: d.location.as_deref().unwrap_or_default(),
                    })
                    .collect()
            }),
        }
    }
}

/// A JSON array of sessions, encoded as Kratos writes JSON.
pub fn sessions_body(
    sessions: &[Session],
    now: DateTime<Utc>,
    public_base: &str,
    expand: Expand,
) -> axum::body::Bytes {
    let wire: Vec<SessionWire> = sessions
        .iter()
        .map(|s| SessionWire::new(s, now, public_base, expand))
        .collect();
    crate::json::json_bytes(&wire)
}
