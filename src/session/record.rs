//! A session as the persister stores it ([`SessionRecord`]: the assurance level as text, methods
//! and devices as JSON documents) and back.

use super::{Aal, Session};
use crate::persistence::session::SessionRecord;

impl Session {
    /// The session from its stored row. A row the model cannot read in part (an unknown level,
    /// a corrupt document) still names a session: aal1, no methods, no devices.
    pub fn from_record(r: SessionRecord) -> Session {
        Session {
            id: r.id,
            identity_id: r.identity_id,
            active: r.active,
            aal: Aal::parse(&r.aal).unwrap_or(Aal::Aal1),
            authentication_methods: serde_json::from_str(&r.authentication_methods)
                .unwrap_or_default(),
            issued_at: r.issued_at,
            authenticated_at: r.authenticated_at,
            expires_at: r.expires_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            devices: serde_json::from_str(&r.devices).unwrap_or_default(),
            identity: r.identity,
        }
    }

    /// The row to store (without the identity, which has rows of its own).
    pub fn to_record(&self) -> SessionRecord {
        SessionRecord {
            id: self.id,
            identity_id: self.identity_id,
            active: self.active,
            aal: self.aal.as_str().to_string(),
            authentication_methods: serde_json::to_string(&self.authentication_methods)
                .unwrap_or_else(|_| "[]".into()),
            issued_at: self.issued_at,
            authenticated_at: self.authenticated_at,
            expires_at: self.expires_at,
            devices: serde_json::to_string(&self.devices).unwrap_or_else(|_| "[]".into()),
            created_at: self.created_at,
            updated_at: self.updated_at,
            identity: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{IdentityId, SessionId};
    use crate::session::{AuthenticationMethod, Device};
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    #[test]
    fn a_session_survives_its_record() {
        let t = Utc.timestamp_opt(1_700_000_000, 123_456_000).unwrap();
        let s = Session {
            id: SessionId::new(),
            identity_id: IdentityId::new(),
            active: true,
            aal: Aal::Aal2,
            authentication_methods: vec![AuthenticationMethod {
                method: "password".into(),
                aal: Aal::Aal1,
                completed_at: t,
                provider: None,
                organization: None,
            }],
            issued_at: t,
            authenticated_at: t,
            expires_at: t,
            created_at: t,
            updated_at: t,
            devices: vec![Device {
                id: Uuid::new_v4(),
                ip_address: Some("127.0.0.1".into()),
                user_agent: None,
                location: None,
            }],
            identity: None,
        };
        assert_eq!(Session::from_record(s.to_record()), s);
    }

    #[test]
    fn an_unreadable_record_is_still_a_session() {
        let r = Session::from_record(SessionRecord {
            id: SessionId::default(),
            identity_id: IdentityId::default(),
            active: true,
            aal: "aal9".into(),
            authentication_methods: "{".into(),
            issued_at: Utc::now(),
            authenticated_at: Utc::now(),
            expires_at: Utc::now(),
            devices: "null".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            identity: None,
        })
        .to_record();
        assert_eq!(r.aal, "aal1");
        assert_eq!(r.authentication_methods, "[]");
        assert_eq!(r.devices, "[]");
    }
}
