//! Whether a session is enough for what asks for it (Kratos's `DoesSessionSatisfy`): whoami and
//! the session list read `session.whoami.required_aal`, settings reads
//! `selfservice.flows.settings.required_aal`; both default to `highest_available`.

use super::{Aal, Session};

/// What a session check requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredAal {
    /// Any authenticated session.
    Aal1,
    /// The highest level the identity's credentials allow: aal2 once a second factor is set up.
    HighestAvailable,
}

impl RequiredAal {
    /// The configured value (`aal1` or `highest_available`, checked at load); unset is
    /// `highest_available`, Kratos's default.
    pub fn from_config(value: Option<&str>) -> RequiredAal {
        match value {
            Some("aal1") => RequiredAal::Aal1,
            _ => RequiredAal::HighestAvailable,
        }
    }
}

/// Whether `session` satisfies `required`. An aal2 session always does; otherwise
/// `highest_available` fails exactly when the identity has a second factor (as stored with it, so
/// no credentials are read on the whoami path).
pub fn satisfies(session: &Session, required: RequiredAal) -> bool {
    if session.aal >= Aal::Aal2 {
        return true;
    }
    match required {
        RequiredAal::Aal1 => session.aal >= Aal::Aal1,
        RequiredAal::HighestAvailable => session
            .identity
            .as_ref()
            .is_none_or(|i| i.available_aal < Aal::Aal2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Credential, Identity};
    use chrono::Utc;
    use serde_json::json;

    fn session(aal: Aal, credentials: &[(&str, serde_json::Value)]) -> Session {
        let now = Utc::now();
        let mut identity = Identity::new("default", json!({}), now);
        for (kind, config) in credentials {
            identity.credentials.insert(
                kind.to_string(),
                Credential {
                    kind: kind.to_string(),
                    identifiers: vec![],
                    config: config.clone(),
                    version: 0,
                    created_at: now,
                    updated_at: now,
                },
            );
        }
        identity.available_aal = identity.compute_available_aal();
        Session {
            id: crate::ids::SessionId::new(),
            identity_id: identity.id,
            active: true,
            aal,
            authentication_methods: vec![],
            issued_at: now,
            authenticated_at: now,
            expires_at: now,
            created_at: now,
            updated_at: now,
            devices: vec![],
            identity: Some(identity),
        }
    }

    #[test]
    fn a_second_factor_is_due_only_where_one_is_set_up() {
        let password = ("password", json!({"hashed_password": "x"}));
        let totp = ("totp", json!({"totp_url": "otpauth://totp/x?secret=A"}));
        let unused_totp = ("totp", json!({"totp_url": ""}));
        let high = RequiredAal::HighestAvailable;
        assert!(satisfies(
            &session(Aal::Aal1, std::slice::from_ref(&password)),
            high
        ));
        assert!(satisfies(
            &session(Aal::Aal1, &[password.clone(), unused_totp]),
            high
        ));
        assert!(!satisfies(
            &session(Aal::Aal1, &[password.clone(), totp.clone()]),
            high
        ));
        assert!(satisfies(
            &session(Aal::Aal2, &[password.clone(), totp.clone()]),
            high
        ));
        assert!(satisfies(
            &session(Aal::Aal1, &[password, totp]),
            RequiredAal::Aal1
        ));
        assert!(!satisfies(&session(Aal::Aal0, &[]), RequiredAal::Aal1));
        assert_eq!(RequiredAal::from_config(None), high);
        assert_eq!(RequiredAal::from_config(Some("aal1")), RequiredAal::Aal1);
    }
}
