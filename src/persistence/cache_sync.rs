//! Keeping the session caches of several nodes on one PostgreSQL database in step.
//!
//! Triggers (migration `20261207000001`) notify channel `ostiary_cache` with the identity id of
//! every session or identity row updated or deleted, inside the writing transaction, so the
//! notification exists exactly when the write does — whoever wrote it. Each node listens on a
//! dedicated connection (application name `ostiary-cache`) and invalidates what it hears.
//!
//! Hearing is asynchronous, so a node that changed sessions also waits, before it answers, until
//! every listening node has caught up: it counts the listeners, notifies `ostiary_cache_barrier`,
//! and waits for each listener's acknowledgement on `ostiary_cache_ack`. PostgreSQL delivers a
//! listener's notifications in commit order, so a node that acknowledges the barrier has already
//! applied every invalidation committed before it. A revocation answered on one node is therefore
//! seen by the very next request on every node. A node that stops hearing (its listening
//! connection lost) serves nothing from its cache until it listens again; a barrier gives up after
//! [`BARRIER_TIMEOUT`] (a node that hangs without closing its connection), with a warning.

use crate::session::cache::SessionCache;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::AnyPool;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const APPLICATION_NAME: &str = "ostiary-cache";
const INVALIDATE: &str = "ostiary_cache";
const BARRIER: &str = "ostiary_cache_barrier";
const ACK: &str = "ostiary_cache_ack";
pub const BARRIER_TIMEOUT: Duration = Duration::from_secs(2);

struct Waiter {
    expected: usize,
    acked: HashSet<String>,
    done: Arc<tokio::sync::Notify>,
}

pub struct CacheSync {
    node: String,
    pool: AnyPool,
    cache: Arc<SessionCache>,
    listening: AtomicBool,
    next: AtomicU64,
    waiters: Mutex<HashMap<u64, Waiter>>,
    /// Dropped with this value: tells the listening task to close its connection.
    _stop: tokio::sync::watch::Sender<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CacheSync {
    /// Start listening in the background; until the first LISTEN succeeds the cache serves nothing.
    pub fn start(url: &str, pool: AnyPool, cache: Arc<SessionCache>) -> Arc<CacheSync> {
        let (stop, stopped) = tokio::sync::watch::channel(());
        let sync = Arc::new(CacheSync {
            node: uuid::Uuid::new_v4().simple().to_string(),
            pool,
            cache,
            listening: AtomicBool::new(false),
            next: AtomicU64::new(1),
            waiters: Mutex::new(HashMap::new()),
            _stop: stop,
        });
        let options = PgConnectOptions::from_str(url).map(|o| o.application_name(APPLICATION_NAME));
        match options {
            Ok(options) => {
                let weak = Arc::downgrade(&sync);
                tokio::spawn(listen(weak, options, stopped));
            }
            Err(e) => {
                tracing::error!(error = %e, "session cache: cannot listen; the cache stays off")
            }
        }
        sync
    }

    fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::SeqCst);
        self.cache.set_live(on);
    }

    async fn handle(self: &Arc<Self>, channel: &str, payload: &str) {
        match channel {
            INVALIDATE => match uuid::Uuid::parse_str(payload) {
                Ok(id) => self.cache.invalidate_identity(id),
                Err(_) => self.cache.flush(),
            },
            BARRIER => {
                // Everything committed before the barrier has been applied above: acknowledge.
                let ack = format!("{payload}:{}", self.node);
                let pool = self.pool.clone();
                tokio::spawn(async move {
                    if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(ACK)
                        .bind(&ack)
                        .execute(&pool)
                        .await
                    {
                        tracing::warn!(error = %e, "session cache: could not acknowledge a barrier");
                    }
                });
            }
            ACK => {
                let mut parts = payload.splitn(3, ':');
                let (Some(writer), Some(n), Some(acker)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return;
                };
                if writer != self.node {
                    return;
                }
                let Ok(n) = n.parse::<u64>() else { return };
                let mut waiters = lock(&self.waiters);
                if let Some(w) = waiters.get_mut(&n) {
                    w.acked.insert(acker.to_string());
                    if w.acked.len() >= w.expected {
                        w.done.notify_one();
                    }
                }
            }
            _ => {}
        }
    }

    /// Wait until every node listening on this database has applied the invalidations this node
    /// committed so far. Returns whether all acknowledged in time.
    pub async fn barrier(&self) -> bool {
        if !self.listening.load(Ordering::SeqCst) {
            return false;
        }
        let expected: i64 = match sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
        )
        .bind(APPLICATION_NAME)
        .fetch_one(&self.pool)
        .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "session cache: could not count the listening nodes");
                return false;
            }
        };
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let done = Arc::new(tokio::sync::Notify::new());
        lock(&self.waiters).insert(
            n,
            Waiter {
                expected: expected.max(1) as usize,
                acked: HashSet::new(),
                done: done.clone(),
            },
        );
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(BARRIER)
            .bind(format!("{}:{n}", self.node))
            .execute(&self.pool)
            .await;
        let ok = match sent {
            Ok(_) => tokio::time::timeout(BARRIER_TIMEOUT, done.notified())
                .await
                .is_ok(),
            Err(e) => {
                tracing::warn!(error = %e, "session cache: could not send a barrier");
                false
            }
        };
        let w = lock(&self.waiters).remove(&n);
        if !ok {
            tracing::warn!(
                expected,
                acknowledged = w.map(|w| w.acked.len()).unwrap_or(0),
                "session cache: not every node acknowledged a revocation in time"
            );
        }
        ok
    }
}

async fn listen(
    sync: std::sync::Weak<CacheSync>,
    options: PgConnectOptions,
    mut stopped: tokio::sync::watch::Receiver<()>,
) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .connect_lazy_with(options);
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "session cache: cannot listen; retrying");
                if sync.upgrade().is_none() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen_all([INVALIDATE, BARRIER, ACK]).await {
            tracing::warn!(error = %e, "session cache: LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        match sync.upgrade() {
            Some(s) => s.set_listening(true),
            None => return,
        }
        loop {
            let next = tokio::select! {
                next = listener.try_recv() => next,
                _ = stopped.changed() => return,
            };
            let Some(s) = sync.upgrade() else { return };
            match next {
                Ok(Some(n)) => s.handle(n.channel(), n.payload()).await,
                // The connection was lost and re-established: notifications in between are gone.
                Ok(None) => s.set_listening(true),
                Err(e) => {
                    tracing::warn!(error = %e, "session cache: listening connection lost");
                    s.set_listening(false);
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
