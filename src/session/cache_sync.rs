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

//!
//! The SQL (NOTIFY, the list of listening connections, a listening connection) is
//! `persistence/notify.rs`; this file is the protocol.

use super::cache::SessionCache;
use crate::persistence::notify::Notifications;
use crate::persistence::Persister;
use std::collections::{HashMap, HashSet};
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
    notifications: Notifications,
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
    /// nothing. None on SQLite (one process serves the file).
    pub fn start(persister: &Persister, cache: Arc<SessionCache>) -> Option<Arc<CacheSync>> {
        let notifications = match persister
            .notifications(&format!("{APPLICATION_NAME}-starting"))?
        {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "session cache: cannot listen; the cache stays off");
                cache.require_lease();
                return None;
            }
        };
        let (stop, stopped) = watch::channel(());
        cache.require_lease();
        let sync = Arc::new(CacheSync {
            node: uuid::Uuid::new_v4().simple().to_string(),
            notifications,
            cache,
            listening: AtomicBool::new(false),
            next: AtomicU64::new(1),
            waiters: Mutex::new(HashMap::new()),
            beats: Mutex::new(HashMap::new()),
            _stop: stop,
        });
        tokio::spawn(listen(Arc::downgrade(&sync), stopped.clone()));
        tokio::spawn(heartbeat(Arc::downgrade(&sync), stopped));
        Some(sync)
    }

    fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::SeqCst);
        self.cache.set_live(on);
    }

    async fn handle(&self, channel: &str, payload: &str) {
        match channel {
            INVALIDATE => match payload.parse() {
                Ok(id) => self.cache.invalidate_identity(id),
                Err(_) => self.cache.flush(),
            },
            BARRIER => {
                // Everything committed before the barrier has been applied above: acknowledge.
                let ack = format!("{payload}:{}", self.node);
                let notifications = self.notifications.clone();
                tokio::spawn(async move {
                    if let Err(e) = notifications.notify(ACK, &ack).await {
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
        let prefix = format!("{APPLICATION_NAME}:");
        let names = match self.notifications.connections_named(&prefix).await {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!(error = %e, "session cache: could not list the listening nodes");
                return false;
            }
        };
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
        let barrier = format!("{}:{n}", self.node);
        let ok = match self.notifications.notify(BARRIER, &barrier).await {
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
        if let Err(e) = s
            .notifications
            .notify(BEAT, &format!("{}:{n}", s.node))
            .await
        {
            tracing::warn!(error = %e, "session cache: could not send a heartbeat");
        }
    }
}

/// Listen, and again after any failure. The node counts as listening (and may serve from its
/// cache, given a lease) only between a successful LISTEN and the first sign of trouble; a lost
/// connection is never silently re-established underneath, since what was said meanwhile is lost.
/// Holds the node only weakly, so dropping it ends the task.
async fn listen(sync: Weak<CacheSync>, mut stopped: watch::Receiver<()>) {
    loop {
        if let Err(e) = listen_once(&sync, &mut stopped).await {
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
    stopped: &mut watch::Receiver<()>,
) -> crate::error::Result<()> {
    let Some((notifications, node)) = sync
        .upgrade()
        .map(|s| (s.notifications.clone(), s.node.clone()))
    else {
        return Ok(());
    };
    let mut listening = notifications
        .listen(&[INVALIDATE, BARRIER, ACK, BEAT])
        .await?;
    // Named only now: a connection in the barrier's list is one that hears the barrier.
    listening
        .rename(&format!("{APPLICATION_NAME}:{node}"))
        .await?;
    match sync.upgrade() {
        Some(s) => s.set_listening(true),
        None => return Ok(()),
    }
    loop {
        let next = tokio::select! {
            next = listening.next() => next?,
            _ = stopped.changed() => return Ok(()),
        };
        let Some(s) = sync.upgrade() else {
            return Ok(());
        };
        match next {
            Some((channel, payload)) => s.handle(&channel, &payload).await,
            // The connection was lost: what was notified meanwhile is gone.
            None => {
                return Err(crate::error::Error::internal(
                    "the listening connection was lost",
                ))
            }
        }
    }
}
