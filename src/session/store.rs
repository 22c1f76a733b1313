//! The persister seen through the session cache: whoami lookups served from memory when the cache
//! may, and every write that changes what a session check answers run together with the
//! invalidation it calls for — here and, on PostgreSQL, on every other node (`cache_sync.rs`).
//!
//! Owns: the session cache, the cross-node sync, the write units. Must not: write SQL (the
//! persister does, and reports which identities a write changed).

use super::cache::{Cached, SessionCache};
use super::cache_sync::CacheSync;
use super::Session;
use crate::error::{Error, Result};
use crate::ids::IdentityId;
use crate::persistence::{Persister, Written};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Clone)]
pub struct SessionStore {
    persister: Persister,
    cache: Arc<SessionCache>,
    sync: Option<Arc<CacheSync>>,
    /// How many write units are running (see [`SessionStore::unit`]).
    in_flight: Arc<watch::Sender<usize>>,
}

/// One running write unit; counted down when the unit's task ends, however it ends.
struct InFlight(Arc<watch::Sender<usize>>);

impl InFlight {
    fn enter(counter: &Arc<watch::Sender<usize>>) -> InFlight {
        counter.send_modify(|n| *n += 1);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl SessionStore {
    /// Serve session checks from an in-process cache of at most `max_entries` sessions, each kept
    /// at most `ttl` (`max_entries == 0`: no cache). On PostgreSQL the node takes part in keeping
    /// every node's cache in step even with its own cache off, so that its writes wait for the
    /// others; on SQLite the cache assumes it is the only process serving the file. Must be called
    /// inside a Tokio runtime.
    pub fn new(persister: Persister, max_entries: usize, ttl: Duration) -> SessionStore {
        let live = persister.backend() == crate::persistence::Backend::Sqlite;
        let cache = Arc::new(SessionCache::new(max_entries, ttl, live));
        let sync = CacheSync::start(&persister, cache.clone());
        SessionStore {
            persister,
            cache,
            sync,
            in_flight: Arc::new(watch::channel(0).0),
        }
    }

    pub fn persister(&self) -> &Persister {
        &self.persister
    }

    /// The session a token digest names, with its identity (addresses, no credentials) and
    /// devices: from the cache when it holds it, else one indexed read (then cached).
    pub async fn lookup(&self, digest: &str) -> Result<Option<Arc<Cached>>> {
        if let Some(hit) = self.cache.get(digest) {
            if hit.refresh_due() {
                // Served from this copy; the next requests find a fresh one.
                let this = self.clone();
                let key = digest.to_string();
                tokio::spawn(async move {
                    if let Err(e) = this.read_through(&key).await {
                        tracing::debug!(error = %e, "session cache: background refresh failed");
                    }
                });
            }
            return Ok(Some(hit));
        }
        self.read_through(digest).await
    }

    /// Read a session by token digest from the database, and cache what was read.
    async fn read_through(&self, digest: &str) -> Result<Option<Arc<Cached>>> {
        let ticket = self.cache.ticket();
        let found = self.persister.get_session_by_token_hash(digest).await?;
        Ok(found.map(Session::from_record).map(|s| match ticket {
            Some(t) => self.cache.put(digest, s, t),
            None => Cached::uncached(s),
        }))
    }

    /// Run a write that changes what session checks answer, together with the invalidation that
    /// must follow it, as one unit that the caller's going away cannot cut in two.
    ///
    /// A client that disconnects mid-request makes the server drop the handler's future at its
    /// next await. Were the write awaited there, the database could commit it (the statement is
    /// already with SQLite's worker thread or the PostgreSQL server) while the invalidation after
    /// it never ran, and this node's cache would go on serving, say, a revoked session until its
    /// entry expired. So the unit runs in a task of its own, which the caller merely awaits:
    /// `write` gets the persister and returns what it wrote with the identities it changed; once
    /// it has returned, they are invalidated here and (PostgreSQL) on every other node before the
    /// unit ends. [`SessionStore::settled`] waits for every unit.
    pub async fn unit<T, F, Fut>(&self, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Persister) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Written<T>>> + Send + 'static,
    {
        use tracing::Instrument;
        let this = self.clone();
        let running = InFlight::enter(&self.in_flight);
        let unit = async move {
            let _running = running;
            let (out, changed) = write(this.persister.clone()).await?.into_parts();
            this.invalidated(changed).await;
            Ok(out)
        };
        tokio::spawn(unit.instrument(tracing::Span::current()))
            .await
            .map_err(|e| Error::internal(format!("a database write failed: {e}")))?
    }

    /// After a committed write that changed these identities' sessions (or what a session check
    /// shows of the identity): drop what the caches hold for them, here and — before returning —
    /// on every other node.
    async fn invalidated(&self, identities: Vec<IdentityId>) {
        let committed = std::time::Instant::now();
        for id in identities {
            self.cache.invalidate_identity(id);
        }
        if let Some(sync) = &self.sync {
            sync.settle(committed).await;
        }
    }

    /// Wait until every write unit under way (also those whose callers have gone) has ended.
    pub async fn settled(&self) {
        let mut rx = self.in_flight.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Close the database once the write units under way have ended.
    pub async fn close(&self) {
        self.settled().await;
        self.persister.close().await;
    }
}
