//! Sessions: the model, token issuing and hashing, the assurance level, devices, and the JSON shape.

pub mod cache;
pub mod cache_sync;
pub mod identity_writes;
pub mod manager;
pub mod record;
pub mod required_aal;
pub mod service;
pub mod store;
pub mod token;
pub mod wire;

use crate::identity::Identity;
use crate::ids::{IdentityId, SessionId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::aal::Aal;

impl AuthenticationMethod {
    /// A second factor (`aal2`) completed at `at`.
    pub fn second_factor(method: &str, at: DateTime<Utc>) -> AuthenticationMethod {
        AuthenticationMethod {
            aal: Aal::Aal2,
            ..AuthenticationMethod::first_factor(method, at)
        }
    }

    /// A first factor (`aal1`) completed at `at`.
    pub fn first_factor(method: &str, at: DateTime<Utc>) -> AuthenticationMethod {
        AuthenticationMethod {
            method: method.into(),
            aal: Aal::Aal1,
            completed_at: at,
            provider: None,
            organization: None,
        }
    }
}

/// How a session was authenticated (one entry per completed method).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthenticationMethod {
    pub method: String,
    pub aal: Aal,
    #[serde(with = "completed_at")]
    pub completed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
}

mod completed_at {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        crate::time::serialize(t, s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// Serialisable for the `sessions.devices` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: Uuid,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub identity_id: IdentityId,
    /// The stored flag; whether the session counts as active also depends on expiry and identity.
    pub active: bool,
    pub aal: Aal,
    pub authentication_methods: Vec<AuthenticationMethod>,
    pub issued_at: DateTime<Utc>,
    pub authenticated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub devices: Vec<Device>,
    pub identity: Option<Identity>,
}

impl Session {
    /// Active at `now`: stored flag, not expired, and (when loaded) the identity is active.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.active
            && self.expires_at > now
            && self
                .identity
                .as_ref()
                .map(|i| i.is_active())
                .unwrap_or(true)
    }
}

/// The assurance level of a set of completed methods: aal2 once a second factor joins a first.
pub fn aal_of(methods: &[AuthenticationMethod]) -> Aal {
    let has = |level: Aal| methods.iter().any(|m| m.aal == level);
    if methods.is_empty() {
        Aal::Aal0
    } else if has(Aal::Aal1) && has(Aal::Aal2) {
        Aal::Aal2
    } else {
        Aal::Aal1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(aal: &str) -> AuthenticationMethod {
        let aal = Aal::parse(aal).unwrap();
        AuthenticationMethod {
            method: "password".into(),
            aal,
            completed_at: Utc::now(),
            provider: None,
            organization: None,
        }
    }

    #[test]
    fn assurance_levels() {
        assert_eq!(aal_of(&[]).as_str(), "aal0");
        assert_eq!(aal_of(&[m("aal1")]).as_str(), "aal1");
        assert_eq!(aal_of(&[m("aal1"), m("aal2")]).as_str(), "aal2");
        assert_eq!(aal_of(&[m("aal2")]).as_str(), "aal1");
    }
}
