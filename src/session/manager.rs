//! Issuing, resolving and extending sessions: the domain side of login, whoami and logout.

use super::store::SessionStore;
use super::token::{self, LOGOUT_PREFIX, SESSION_PREFIX};
use super::{aal_of, AuthenticationMethod, Device, Session};
use crate::config::Config;
use crate::error::Result;
use crate::identity::Identity;
use crate::ids::SessionId;
use crate::persistence::Persister;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// A freshly issued session and the two secrets that are shown to the client exactly once.
pub struct Issued {
    pub session: Session,
    pub token: String,
    pub logout_token: String,
}

/// Where the device information of a new session comes from.
#[derive(Debug, Clone, Default)]
pub struct DeviceInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub location: Option<String>,
}

/// Create and store a session for an identity that just authenticated with `methods`.
pub async fn issue(
    persister: &Persister,
    config: &Config,
    identity: &Identity,
    methods: Vec<AuthenticationMethod>,
    device: DeviceInfo,
    now: DateTime<Utc>,
) -> Result<Issued> {
    let token = token::generate(SESSION_PREFIX);
    let logout_token = token::generate(LOGOUT_PREFIX);
    let session = Session {
        id: SessionId::new(),
        identity_id: identity.id,
        active: true,
        aal: aal_of(&methods),
        authentication_methods: methods,
        issued_at: now,
        authenticated_at: now,
        expires_at: now + config.session.lifespan.0,
        created_at: now,
        updated_at: now,
        devices: vec![Device {
            id: Uuid::new_v4(),
            ip_address: device.ip,
            user_agent: device.user_agent,
            location: device.location,
        }],
        identity: Some(identity.clone()),
    };
    persister
        .create_session(
            &session.to_record(),
            &token::digest(&token),
            &token::digest(&logout_token),
        )
        .await?;
    Ok(Issued {
        session,
        token,
        logout_token,
    })
}

/// Re-authenticate the caller's session in place (login with `refresh=true`, as Kratos does): the
/// same id and token (so a native app keeps its token and a browser its cookie); the new method is
/// added to `authentication_methods`, the device to `devices`, and `authenticated_at`, `issued_at`,
/// `expires_at` and the AAL move on. None when the session was revoked meanwhile.
pub async fn reauthenticate(
    store: &SessionStore,
    config: &Config,
    (mut session, token): (Session, String),
    identity: &Identity,
    method: AuthenticationMethod,
    device: DeviceInfo,
    now: DateTime<Utc>,
) -> Result<Option<Issued>> {
    session.authentication_methods.push(method);
    session.aal = aal_of(&session.authentication_methods);
    session.issued_at = now;
    session.authenticated_at = now;
    session.expires_at = now + config.session.lifespan.0;
    session.updated_at = now;
    session.devices.push(Device {
        id: Uuid::new_v4(),
        ip_address: device.ip,
        user_agent: device.user_agent,
        location: device.location,
    });
    session.identity = Some(identity.clone());
    let record = session.to_record();
    let written = store
        .unit(move |p| async move { p.reauthenticate_session(&record).await })
        .await?;
    if !written {
        return Ok(None);
    }
    Ok(Some(Issued {
        session,
        token,
        logout_token: String::new(),
    }))
}

/// How long before expiry a session may be extended (`session.earliest_possible_extend`,
/// defaulting to the whole lifespan, i.e. always).
pub fn earliest_extend(config: &Config) -> Duration {
    config
        .session
        .earliest_possible_extend
        .map(|d| d.0)
        .unwrap_or(config.session.lifespan.0)
}

/// Whether a session may be extended now.
pub fn can_extend(config: &Config, session: &Session, now: DateTime<Utc>) -> bool {
    session.expires_at - earliest_extend(config) < now
}

/// Extend a session to `now + lifespan` when allowed; returns whether it moved.
pub async fn extend(
    store: &SessionStore,
    config: &Config,
    session: &mut Session,
    now: DateTime<Utc>,
) -> Result<bool> {
    if !can_extend(config, session, now) {
        return Ok(false);
    }
    let expires_at = now + config.session.lifespan.0;
    let id = session.id;
    store
        .unit(move |p| async move { p.set_session_expiry(id, expires_at, now).await })
        .await?;
    session.expires_at = expires_at;
    session.updated_at = now;
    Ok(true)
}
