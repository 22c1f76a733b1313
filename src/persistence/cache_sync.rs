//! Keeping the session caches of several nodes on one PostgreSQL database in step.
//!
//! Triggers (migration `20261207000001`) notify channel `ostiary_cache` with the identity id of
//! every session or identity row updated or deleted, inside the writing transaction, so the
//! notification exists exactly when the write does — whoever wrote it. Each node listens on a
//! dedicated connection and invalidates what it hears.
//!
//! Hearing is asynchronous, so a node that changed sessions also waits, before it answers, until
//! every listening node has caught up: it lists the listening nodes (each listening connection
//! carries the application name `ostiary-cache:<node>`, set once its LISTEN is in place),
//! notifies `ostiary_cache_barrier`, and waits for each of those nodes' acknowledgement on
//! `ostiary_cache_ack`. PostgreSQL delivers a listener's notifications in commit order, so a node
//! that acknowledges the barrier has already applied every invalidation committed before it.
//!
//! The fallback is a lease. Every node notifies itself a heartbeat every [`HEARTBEAT`]; hearing
//! one back proves every invalidation committed before it was sent has been applied, and lets the
//! cache serve until [`LEASE`] after the sending. A node that stops hearing (connection lost or
//! silently dead, runtime starved) stops serving from memory within the lease. A writer whose
//! barrier is not acknowledged in time (a node hung, its own listener down) waits until the lease
//! has run out since its commit before it answers: by then every node still serving from memory
//! has heard something sent after the write. Either way, a change answered on one node holds for
//! the very next request on every node.

use crate::session::cache::SessionCache;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::AnyPool;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Listening connections are named `ostiary-cache:<node>` while they listen.
pub const APPLICATION_NAME: &str = "ostiary-cache";
const INVALIDATE: &str = "ostiary_cache";
const BARRIER: &str = "ostiary_cache_barrier";
const ACK: &str = "ostiary_cache_ack";
const BEAT: &str = "ostiary_cache_beat";
pub const HEARTBEAT: Duration = Duration::from_millis(250);
pub const LEASE: Duration = Duration::from_secs(2);
pub const BARRIER_TIMEOUT: Duration = LEASE;

struct Waiter {
    /// The nodes that were listening when the barrier was sent and have not acknowledged yet.
    expected: HashSet<String>,
    done: Arc<tokio::sync::Notify>,
}

pub struct CacheSync {
    node: String,
    pool: AnyPool,
    cache: Arc<SessionCache>,
    listening: AtomicBool,
    next: AtomicU64,
    waiters: Mutex<HashMap<u64, Waiter>>,
    /// Heartbeats sent and not heard back yet: sequence number → when sent.
    beats: Mutex<HashMap<u64, Instant>>,
    /// Dropped with this value: tells the background tasks to stop (and close the connection).
    _stop: watch::Sender<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CacheSync {
    /// Start listening in the background; until the first heartbeat comes back, the cache serves
    /// nothing.
    pub fn start(url: &str, pool: AnyPool, cache: Arc<SessionCache>) -> Arc<CacheSync> {
        let (stop, stopped) = watch::channel(());
        cache.require_lease();
        let sync = Arc::new(CacheSync {
            node: uuid::Uuid::new_v4().simple().to_string(),
            pool,
            cache,
            listening: AtomicBool::new(false),
            next: AtomicU64::new(1),
            waiters: Mutex::new(HashMap::new()),
            beats: Mutex::new(HashMap::new()),
            _stop: stop,
        });
        let options = PgConnectOptions::from_str(url)
            .map(|o| o.application_name(&format!("{APPLICATION_NAME}-starting")));
        match options {
            Ok(options) => {
                tokio::spawn(listen(Arc::downgrade(&sync), options, stopped.clone()));
                tokio::spawn(heartbeat(Arc::downgrade(&sync), stopped));
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

    async fn handle(&self, channel: &str, payload: &str) {
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
                    if let Err(e) = notify(&pool, ACK, &ack).await {
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
                let Ok(n) = n.parse::<u64>() else { return };
                if writer != self.node {
                    return;
                }
                if let Some(w) = lock(&self.waiters).get_mut(&n) {
                    w.expected.remove(acker);
                    if w.expected.is_empty() {
                        w.done.notify_one();
                    }
                }
            }
            BEAT => {
                let Some((node, n)) = payload.split_once(':') else {
                    return;
                };
                let Ok(n) = n.parse::<u64>() else { return };
                if node != self.node {
                    return;
                }
                let mut beats = lock(&self.beats);
                if let Some(sent) = beats.get(&n).copied() {
                    self.cache.renew_lease(sent, LEASE);
                    beats.retain(|k, _| *k > n);
                }
            }
            _ => {}
        }
    }

    /// After a committed write: make sure no node serves what it changed from memory any more —
    /// every listening node acknowledged a barrier, or else the lease has run out since
    /// `committed` (taken after the commit).
    pub async fn settle(&self, committed: Instant) {
        if !self.barrier().await {
            let until = committed + LEASE + Duration::from_millis(50);
            tokio::time::sleep_until(until.into()).await;
        }
    }

    /// Wait until every node listening on this database has applied the invalidations this node
    /// committed so far. Returns whether all acknowledged in time.
    async fn barrier(&self) -> bool {
        if !self.listening.load(Ordering::SeqCst) {
            return false;
        }
        let names: Vec<String> = match sqlx::query_scalar(
            // The function behind pg_stat_activity, without the view's joins (0.1-0.4 ms
            // against 0.5 ms a call).
            "SELECT a.application_name FROM pg_stat_get_activity(NULL) a \
             WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND a.application_name LIKE $1",
        )
        .bind(format!("{APPLICATION_NAME}:%"))
        .fetch_all(&self.pool)
        .await
        {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!(error = %e, "session cache: could not list the listening nodes");
                return false;
            }
        };
        let prefix = format!("{APPLICATION_NAME}:");
        let mut expected: HashSet<String> = names
            .iter()
            .filter_map(|n| n.strip_prefix(&prefix))
            .map(str::to_string)
            .collect();
        // This node's own listener acknowledges too: proof that the barrier went round.
        expected.insert(self.node.clone());
        let nodes = expected.len();
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let done = Arc::new(tokio::sync::Notify::new());
        lock(&self.waiters).insert(
            n,
            Waiter {
                expected,
                done: done.clone(),
            },
        );
        let ok = match notify(&self.pool, BARRIER, &format!("{}:{n}", self.node)).await {
            Ok(()) => tokio::time::timeout(BARRIER_TIMEOUT, done.notified())
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
                nodes,
                missing = ?w.map(|w| w.expected),
                "session cache: not every node acknowledged a change in time; waiting out the lease"
            );
        }
        ok
    }
}

async fn notify(pool: &AnyPool, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Send this node a heartbeat every [`HEARTBEAT`]; hearing it back renews the cache's lease.
async fn heartbeat(sync: Weak<CacheSync>, mut stopped: watch::Receiver<()>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 1u64.. {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let Some(s) = sync.upgrade() else { return };
        if !s.listening.load(Ordering::SeqCst) {
            continue;
        }
        let sent = Instant::now();
        {
            let mut beats = lock(&s.beats);
            // Beats never heard back (a lost connection) are dropped after a while.
            beats.retain(|_, at| at.elapsed() < LEASE * 4);
            beats.insert(n, sent);
        }
        if let Err(e) = notify(&s.pool, BEAT, &format!("{}:{n}", s.node)).await {
            tracing::warn!(error = %e, "session cache: could not send a heartbeat");
        }
    }
}

/// Listen, and again after any failure. The node counts as listening (and may serve from its
/// cache, given a lease) only between a successful LISTEN and the first sign of trouble; a lost
/// connection is never silently re-established underneath, since what was said meanwhile is lost.
/// Holds the node only weakly, so dropping it ends the task.
async fn listen(
    sync: Weak<CacheSync>,
    options: PgConnectOptions,
    mut stopped: watch::Receiver<()>,
) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options);
    loop {
        if let Err(e) = listen_once(&sync, &pool, &mut stopped).await {
            tracing::warn!(error = %e, "session cache: not listening; retrying");
        }
        match sync.upgrade() {
            Some(s) => s.set_listening(false),
            None => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// One listening connection, until it fails or the node stops.
async fn listen_once(
    sync: &Weak<CacheSync>,
    pool: &sqlx::PgPool,
    stopped: &mut watch::Receiver<()>,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.eager_reconnect(false);
    listener
        .listen_all([INVALIDATE, BARRIER, ACK, BEAT])
        .await?;
    let Some(node) = sync.upgrade().map(|s| s.node.clone()) else {
        return Ok(());
    };
    // Named only now: a connection in the barrier's list is one that hears the barrier.
    sqlx::query(&format!(
        "SET application_name = '{APPLICATION_NAME}:{node}'"
    ))
    .execute(&mut listener)
    .await?;
    match sync.upgrade() {
        Some(s) => s.set_listening(true),
        None => return Ok(()),
    }
    loop {
        let next = tokio::select! {
            next = listener.try_recv() => next?,
            _ = stopped.changed() => return Ok(()),
        };
        let Some(s) = sync.upgrade() else {
            return Ok(());
        };
        match next {
            Some(n) => s.handle(n.channel(), n.payload()).await,
            // The connection was lost: what was notified meanwhile is gone.
            None => return Err(sqlx::Error::PoolClosed),
        }
    }
}
