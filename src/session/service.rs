//! The one owner of the session lifecycle: issuing and re-authenticating, resolving a token
//! (whoami), extending, revoking one, the others or all, and both logouts. Every handler and flow
//! goes through it, so a token is digested, and an over-long one refused, in one place.
//!
//! Every other write that changes what a session check answers (an identity updated or deleted)
//! goes through it too (`identity_writes.rs`), so the session cache stays exact.
//!
//! Owns: the rules of the lifecycle. Must not: know HTTP, or write SQL (the persister does; the
//! session store runs each write with the cache invalidation it calls for).

use super::cache::Cached;
use super::manager::{self, DeviceInfo, Issued};
use super::store::SessionStore;
use super::token::{self, LOGOUT_PREFIX};
use super::{AuthenticationMethod, Session};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::Result;
use crate::identity::Identity;
use crate::ids::{IdentityId, SessionId};
use crate::persistence::session::{ActiveFilter, SessionCursor};
use crate::persistence::Persister;
use std::collections::HashMap;
use std::sync::Arc;

/// The longest token looked up: longer ones name no session (and cost no digest).
pub const MAX_TOKEN_LEN: usize = 512;

/// The session lifecycle, over the session store, the configuration and the clock.
pub struct Sessions<'a> {
    pub store: &'a SessionStore,
    pub config: &'a Config,
    pub clock: &'a Clock,
}

/// The digest of a presented token, or None when it cannot name anything (empty or too long).
fn presented(token: &str) -> Option<String> {
    (!token.is_empty() && token.len() <= MAX_TOKEN_LEN).then(|| token::digest(token))
}

impl Sessions<'_> {
    fn persister(&self) -> &Persister {
        self.store.persister()
    }

    /// A new session for an identity that just authenticated with `methods`.
    pub async fn issue(
        &self,
        identity: &Identity,
        methods: Vec<AuthenticationMethod>,
        device: DeviceInfo,
    ) -> Result<Issued> {
        let now = self.clock.now();
        manager::issue(
            self.persister(),
            self.config,
            identity,
            methods,
            device,
            now,
        )
        .await
    }

    /// The caller's session re-authenticated in place (login with `refresh=true`); None when it
    /// was revoked meanwhile.
    pub async fn reauthenticate(
        &self,
        current: (Session, String),
        identity: &Identity,
        method: AuthenticationMethod,
        device: DeviceInfo,
    ) -> Result<Option<Issued>> {
        let now = self.clock.now();
        manager::reauthenticate(
            self.store,
            self.config,
            current,
            identity,
            method,
            device,
            now,
        )
        .await
    }

    /// Record a method completed within a session (a second factor set up in settings): it joins
    /// `authentication_methods` and the assurance level follows; false when the session was
    /// revoked meanwhile.
    pub async fn add_method(
        &self,
        session: &Session,
        method: AuthenticationMethod,
    ) -> Result<bool> {
        let mut s = session.clone();
        s.authentication_methods.push(method);
        s.aal = super::aal_of(&s.authentication_methods);
        s.updated_at = self.clock.now();
        let record = s.to_record();
        self.store
            .unit(move |p| async move { p.reauthenticate_session(&record).await })
            .await
    }

    /// The active session a session token names (whoami); it may come from the session cache.
    pub async fn resolve(&self, token: &str) -> Result<Option<Arc<Cached>>> {
        let Some(digest) = presented(token) else {
            return Ok(None);
        };
        let found = self.store.lookup(&digest).await?;
        Ok(found.filter(|c| c.session.is_active(self.clock.now())))
    }

    /// A session by id (admin), active or not.
    pub async fn get(&self, id: SessionId) -> Result<Option<Session>> {
        Ok(self
            .persister()
            .get_session(id)
            .await?
            .map(Session::from_record))
    }

    /// Whether a session may be extended now (`session.earliest_possible_extend`).
    pub fn can_extend(&self, session: &Session) -> bool {
        manager::can_extend(self.config, session, self.clock.now())
    }

    /// Extend a session to now + `session.lifespan` when allowed; whether it moved.
    pub async fn extend(&self, session: &mut Session) -> Result<bool> {
        manager::extend(self.store, self.config, session, self.clock.now()).await
    }

    /// Revoke a session by id (admin); how many sessions had that id.
    pub async fn revoke(&self, id: SessionId) -> Result<u64> {
        let now = self.clock.now();
        self.store
            .unit(move |p| async move { p.revoke_session(id, now).await })
            .await
    }

    /// Revoke one session of an identity (`disableMySession`); another identity's is left alone.
    pub async fn revoke_of(&self, identity_id: IdentityId, id: SessionId) -> Result<u64> {
        let now = self.clock.now();
        self.store
            .unit(move |p| async move { p.revoke_session_of(identity_id, id, now).await })
            .await
    }

    /// Revoke every session of an identity but `except` (`disableMyOtherSessions`); None when
    /// `except` itself was revoked meanwhile.
    pub async fn revoke_others(
        &self,
        identity_id: IdentityId,
        except: SessionId,
    ) -> Result<Option<u64>> {
        let now = self.clock.now();
        self.store
            .unit(move |p| async move { p.revoke_other_sessions(identity_id, except, now).await })
            .await
    }

    /// Delete every session of an identity (admin); how many there were.
    pub async fn delete_all(&self, identity_id: IdentityId) -> Result<u64> {
        self.store
            .unit(move |p| async move { p.delete_identity_sessions(identity_id).await })
            .await
    }

    /// Native logout: revoke the session a session token names; whether one did.
    pub async fn logout_by_token(&self, token: &str) -> Result<bool> {
        let Some(digest) = presented(token) else {
            return Ok(false);
        };
        let now = self.clock.now();
        let n = self
            .store
            .unit(move |p| async move { p.revoke_session_by_token_hash(&digest, now).await })
            .await?;
        Ok(n > 0)
    }

    /// A new logout token for a session (`createBrowserLogoutFlow`); only its digest is kept.
    pub async fn new_logout_token(&self, session_id: SessionId) -> Result<String> {
        let logout_token = token::generate(LOGOUT_PREFIX);
        self.persister()
            .add_logout_token(session_id, &token::digest(&logout_token), self.clock.now())
            .await?;
        Ok(logout_token)
    }

    /// Browser logout: revoke the session if `logout_token` is one of its logout tokens; whether
    /// it was.
    pub async fn logout_with_token(
        &self,
        session_id: SessionId,
        logout_token: &str,
    ) -> Result<bool> {
        let Some(digest) = presented(logout_token) else {
            return Ok(false);
        };
        if !self
            .persister()
            .is_logout_token_of(session_id, &digest)
            .await?
        {
            return Ok(false);
        }
        self.revoke(session_id).await?;
        Ok(true)
    }

    /// One page of all sessions after `after` (the admin list), with identity and devices as
    /// asked, and whether more follow.
    pub async fn list_page(
        &self,
        active: ActiveFilter,
        after: Option<&SessionCursor>,
        size: i64,
        identity: bool,
        devices: bool,
    ) -> Result<(Vec<Session>, bool)> {
        let now = self.clock.now();
        let mut records = self
            .persister()
            .list_sessions(active, now, after, size + 1)
            .await?;
        let has_more = records.len() as i64 > size;
        records.truncate(usize::try_from(size).unwrap_or(0));
        let mut sessions: Vec<Session> = records.into_iter().map(Session::from_record).collect();
        self.attach(&mut sessions, identity, devices).await?;
        Ok((sessions, has_more))
    }

    /// One page of an identity's sessions with identity and devices (`listMySessions`, the admin
    /// list of an identity's sessions), and how many there are in all.
    ///
    /// `known` is the identity when the caller already holds it (`listMySessions`: the caller's
    /// own, from its session), which saves reading it again.
    pub async fn list_of(
        &self,
        identity_id: IdentityId,
        known: Option<&Identity>,
        (active, except): (ActiveFilter, Option<SessionId>),
        offset: i64,
        size: i64,
    ) -> Result<(Vec<Session>, i64)> {
        let now = self.clock.now();
        let (records, total) = self
            .persister()
            .list_identity_sessions(identity_id, active, except, now, offset, size)
            .await?;
        let mut sessions: Vec<Session> = records.into_iter().map(Session::from_record).collect();
        match known.filter(|i| i.id == identity_id) {
            Some(identity) => {
                for s in &mut sessions {
                    s.identity = Some(identity.clone());
                }
            }
            None => self.attach(&mut sessions, true, true).await?,
        }
        Ok((sessions, total))
    }

    /// Load identities (one query) and keep or drop devices for a batch of sessions.
    async fn attach(&self, sessions: &mut [Session], identity: bool, devices: bool) -> Result<()> {
        if sessions.is_empty() {
            return Ok(());
        }
        if identity {
            let mut ids: Vec<IdentityId> = sessions.iter().map(|s| s.identity_id).collect();
            ids.sort();
            ids.dedup();
            let q = crate::persistence::identity::IdentityQuery {
                ids,
                limit: i64::MAX,
                ..Default::default()
            };
            let identities = self.persister().list_identities(&q).await?;
            let by_id: HashMap<IdentityId, _> = identities.into_iter().map(|i| (i.id, i)).collect();
            for s in sessions.iter_mut() {
                s.identity = by_id.get(&s.identity_id).cloned();
            }
        }
        if !devices {
            for s in sessions.iter_mut() {
                s.devices.clear();
            }
        }
        Ok(())
    }
}
