//! The session JSON exactly as Kratos shapes it.

use super::{Device, Session};
use crate::identity::wire::{identity_json, View};
use crate::time::rfc3339;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// Which parts to include: `identity` and `devices` are `null` unless expanded.
#[derive(Debug, Clone, Copy)]
pub struct Expand {
    pub identity: bool,
    pub devices: bool,
}

pub fn session_json(s: &Session, now: DateTime<Utc>, public_base: &str, expand: Expand) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("active".into(), json!(s.is_active(now)));
    m.insert("expires_at".into(), json!(rfc3339(&s.expires_at)));
    m.insert(
        "authenticated_at".into(),
        json!(rfc3339(&s.authenticated_at)),
    );
    m.insert("authenticator_assurance_level".into(), json!(s.aal));
    m.insert(
        "authentication_methods".into(),
        serde_json::to_value(&s.authentication_methods).unwrap_or(Value::Array(vec![])),
    );
    m.insert("issued_at".into(), json!(rfc3339(&s.issued_at)));
    let identity = match (&s.identity, expand.identity) {
        (Some(i), true) => identity_json(i, public_base, View::Public),
        _ => Value::Null,
    };
    m.insert("identity".into(), identity);
    m.insert(
        "devices".into(),
        if expand.devices {
            Value::Array(s.devices.iter().map(device_json).collect())
        } else {
            Value::Null
        },
    );
    Value::Object(m)
}

fn device_json(d: &Device) -> Value {
    json!({
        "id": d.id,
        "ip_address": d.ip_address.clone().unwrap_or_default(),
        "user_agent": d.user_agent.clone().unwrap_or_default(),
        "location": d.location.clone().unwrap_or_default(),
    })
}
