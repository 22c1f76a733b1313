//! The in-process session cache: token digest → the session with its identity, so that a whoami
//! on a warm token touches no database.
//!
//! Correctness rests on stamps, not on timing. A global counter ticks on every invalidation. A
//! reader takes a [`Ticket`] (the counter's value) *before* it reads the database, and the entry it
//! stores carries that stamp. Invalidating an identity records a fresh counter value for it,
//! *after* the write committed; an entry is served only while its stamp is not older than its
//! identity's last invalidation (and than the last flush). So a read that could have seen the
//! data from before a committed write is never served after that write's invalidation, however
//! the two interleave. Every write that changes what a session check answers invalidates the
//! session's identity: the persister reports the identities a write changed, and the session store
//! (`store.rs`) runs write and invalidation as one unit its caller's going away cannot cut in two;
//! other nodes hear of it through PostgreSQL (`cache_sync.rs`).
//!
//! On PostgreSQL the cache also holds a *lease*: it serves only while it has recently heard its
//! own heartbeat back through the notification channel (which proves it has applied every
//! invalidation committed before that heartbeat was sent). A node that stops hearing — its
//! listening connection lost or silently dead, its runtime starved — stops serving from memory
//! within the lease, and a writer that cannot confirm every node caught up waits the lease out
//! before it answers.
//!
//! Entries also expire after `ttl` (a bound for changes made behind Ostiary's back, and for memory),
//! and the cache holds at most `max_entries`. Each entry's lifetime is drawn between ¾ of `ttl` and
//! `ttl`, so sessions cached together (at start, after a flush) do not all expire in the same
//! instant and send one burst of reads to the database. A session still in use is read again in
//! the background once it has lived ¾ of its lifetime ([`Cached::refresh_due`]), so a hot token's
//! requests do not wait for a database read when its entry expires. The new read goes through the
//! same ticket and stamps as any other.

use super::Session;
use crate::ids::IdentityId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const SHARDS: usize = 32;
const MAX_INVALIDATIONS_PER_SHARD: usize = 4096;

/// A cached session (with its identity) and, once a whoami asked for it, its response body.
#[derive(Debug)]
pub struct Cached {
    pub session: Session,
    stamp: u64,
    since: Instant,
    /// How long this entry may be served, at most the cache's `ttl`.
    life: Duration,
    /// Whether a background read to replace this entry has been started.
    refreshing: AtomicBool,
    body: OnceLock<axum::body::Bytes>,
}

impl Cached {
    /// A session read straight from the database (not stored in the cache).
    pub fn uncached(session: Session) -> Arc<Cached> {
        Arc::new(Cached {
            session,
            stamp: 0,
            since: Instant::now(),
            life: Duration::ZERO,
            refreshing: AtomicBool::new(false),
            body: OnceLock::new(),
        })
    }

    /// True once per entry, when it has lived ¾ of its lifetime: time to read it again in the
    /// background while this copy is still served.
    pub fn refresh_due(&self) -> bool {
        !self.life.is_zero()
            && self.since.elapsed() >= self.life.mul_f64(0.75)
            && !self.refreshing.swap(true, Ordering::Relaxed)
    }

    /// The whoami body, built once per cached session. It depends only on the session: a session
    /// that is answered at all is active, and every other field is stored.
    pub fn body(&self, build: impl FnOnce(&Session) -> axum::body::Bytes) -> axum::body::Bytes {
        self.body.get_or_init(|| build(&self.session)).clone()
    }
}

/// Taken before a database read whose result may be cached.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    stamp: u64,
    at: Instant,
}

type Shard<K, V> = Mutex<HashMap<K, V>>;

pub struct SessionCache {
    entries: Box<[Shard<String, Arc<Cached>>]>,
    /// Identity → (counter value, when) of its last invalidation; pruned after `ttl`.
    invalidated: Box<[Shard<IdentityId, (u64, Instant)>]>,
    counter: AtomicU64,
    /// Entries stamped before this were flushed.
    floor: AtomicU64,
    /// Whether invalidations from other nodes are being heard (always true on SQLite).
    live: AtomicBool,
    /// Serving is allowed until this many nanoseconds after `epoch` (u64::MAX: no lease needed).
    lease_until: AtomicU64,
    epoch: Instant,
    enabled: bool,
    per_shard: usize,
    ttl: Duration,
}

fn shard_of<K: std::hash::Hash + ?Sized>(k: &K) -> usize {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(k) as usize % SHARDS
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SessionCache {
    /// `max_entries == 0` turns the cache off. `live` says whether it may serve from the start.
    pub fn new(max_entries: usize, ttl: Duration, live: bool) -> SessionCache {
        SessionCache {
            entries: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            invalidated: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            counter: AtomicU64::new(1),
            floor: AtomicU64::new(0),
            live: AtomicBool::new(live),
            lease_until: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
            enabled: max_entries > 0 && !ttl.is_zero(),
            per_shard: max_entries.div_ceil(SHARDS).max(1),
            ttl,
        }
    }

    pub fn disabled() -> SessionCache {
        SessionCache::new(0, Duration::ZERO, false)
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    fn serving(&self) -> bool {
        self.enabled
            && self.live.load(Ordering::SeqCst)
            && self.nanos(Instant::now()) < self.lease_until.load(Ordering::SeqCst)
    }

    /// Require a lease from now on: serve only until [`SessionCache::renew_lease`] says otherwise.
    pub fn require_lease(&self) {
        self.lease_until.store(0, Ordering::SeqCst);
    }

    /// Every invalidation committed before `sent` has been applied: serve until `sent + lease`.
    pub fn renew_lease(&self, sent: Instant, lease: Duration) {
        self.lease_until
            .fetch_max(self.nanos(sent + lease), Ordering::SeqCst);
    }

    /// Take before reading the database; None when nothing may be cached now.
    pub fn ticket(&self) -> Option<Ticket> {
        // The time first: an entry must never look younger than an invalidation it predates.
        let at = Instant::now();
        self.serving().then(|| Ticket {
            stamp: self.counter.load(Ordering::SeqCst),
            at,
        })
    }

    fn last_invalidation(&self, identity: &IdentityId) -> u64 {
        lock(&self.invalidated[shard_of(identity)])
            .get(identity)
            .map(|(stamp, _)| *stamp)
            .unwrap_or(0)
    }

    fn fresh(&self, e: &Cached) -> bool {
        self.serving()
            && e.since.elapsed() < e.life
            && e.stamp >= self.floor.load(Ordering::SeqCst)
            && e.stamp >= self.last_invalidation(&e.session.identity_id)
    }

    /// A lifetime between ¾ of `ttl` and `ttl`.
    fn life(&self) -> Duration {
        self.ttl.mul_f64(rand::random::<f64>().mul_add(-0.25, 1.0))
    }

    /// The cached session for a token digest, if it is still good.
    pub fn get(&self, digest: &str) -> Option<Arc<Cached>> {
        if !self.serving() {
            return None;
        }
        let shard = &self.entries[shard_of(digest)];
        let found = lock(shard).get(digest).cloned()?;
        if self.fresh(&found) {
            Some(found)
        } else {
            let mut shard = lock(shard);
            // Only this entry: a newer one may have been stored in between.
            if shard.get(digest).is_some_and(|e| Arc::ptr_eq(e, &found)) {
                shard.remove(digest);
            }
            None
        }
    }

    /// Remember what a read taken under `ticket` found. Returns the entry (stored or not).
    pub fn put(&self, digest: &str, session: Session, ticket: Ticket) -> Arc<Cached> {
        let entry = Arc::new(Cached {
            session,
            stamp: ticket.stamp,
            since: ticket.at,
            life: self.life(),
            refreshing: AtomicBool::new(false),
            body: OnceLock::new(),
        });
        if !self.fresh(&entry) {
            return entry;
        }
        let mut shard = lock(&self.entries[shard_of(digest)]);
        if shard.len() >= self.per_shard {
            let ttl = self.ttl;
            shard.retain(|_, e| e.since.elapsed() < e.life.min(ttl));
            if shard.len() >= self.per_shard {
                // Still full of live entries: drop an arbitrary eighth.
                let drop: Vec<String> = shard
                    .keys()
                    .take((self.per_shard / 8).max(1))
                    .cloned()
                    .collect();
                for k in drop {
                    shard.remove(&k);
                }
            }
        }
        shard.insert(digest.to_string(), entry.clone());
        entry
    }

    /// Everything cached for this identity is stale from now on.
    pub fn invalidate_identity(&self, identity: IdentityId) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let mut map = lock(&self.invalidated[shard_of(&identity)]);
        // Stamped under the lock, so concurrent invalidations of one identity never lower it.
        let stamp = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        if map.len() >= MAX_INVALIDATIONS_PER_SHARD {
            // An entry stamped before an invalidation is at least as old as it, so once the
            // invalidation is older than `ttl`, everything it could reject has expired anyway.
            let ttl = self.ttl;
            map.retain(|_, (_, at)| at.elapsed() < ttl);
            if map.len() >= MAX_INVALIDATIONS_PER_SHARD {
                // Still full (a burst of writes): forget these records, and with them every
                // entry they could have rejected.
                map.clear();
                drop(map);
                self.flush();
                map = lock(&self.invalidated[shard_of(&identity)]);
            }
        }
        let e = map.entry(identity).or_insert((stamp, now));
        e.0 = e.0.max(stamp);
        // Racing invalidations read `now` before the lock: never move the record's time back.
        e.1 = e.1.max(now);
    }

    /// Everything cached so far is stale.
    pub fn flush(&self) {
        let stamp = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        self.floor.store(stamp, Ordering::SeqCst);
        for shard in self.entries.iter() {
            lock(shard).clear();
        }
    }

    /// Whether invalidations from other nodes are heard. Going offline flushes (and serves nothing
    /// until back); coming back flushes too, as invalidations may have been missed in between.
    pub fn set_live(&self, live: bool) {
        self.flush();
        self.live.store(live, Ordering::SeqCst);
        self.flush();
    }

    pub fn len(&self) -> usize {
        self.entries.iter().map(|s| lock(s).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn session(identity: IdentityId) -> Session {
        let now = Utc::now();
        Session {
            id: crate::ids::SessionId::new(),
            identity_id: identity,
            active: true,
            aal: crate::session::Aal::Aal1,
            authentication_methods: vec![],
            issued_at: now,
            authenticated_at: now,
            expires_at: now + chrono::Duration::hours(1),
            created_at: now,
            updated_at: now,
            devices: vec![],
            identity: None,
        }
    }

    fn cache() -> SessionCache {
        SessionCache::new(1000, Duration::from_secs(60), true)
    }

    #[test]
    fn serves_what_it_stored() {
        let c = cache();
        let id = IdentityId::new();
        let t = c.ticket().unwrap();
        c.put("d1", session(id), t);
        assert_eq!(c.get("d1").unwrap().session.identity_id, id);
        assert!(c.get("d2").is_none());
    }

    #[test]
    fn an_invalidation_after_the_ticket_rejects_the_read() {
        let c = cache();
        let id = IdentityId::new();
        // The read began, then a write committed and invalidated: the result must not be served,
        // neither when it is stored after the invalidation nor when it was stored before.
        let t = c.ticket().unwrap();
        c.invalidate_identity(id);
        c.put("d1", session(id), t);
        assert!(c.get("d1").is_none());
        let t = c.ticket().unwrap();
        c.put("d2", session(id), t);
        assert!(c.get("d2").is_some());
        c.invalidate_identity(id);
        assert!(c.get("d2").is_none());
        // Other identities are untouched.
        let other = IdentityId::new();
        let t = c.ticket().unwrap();
        c.put("d3", session(other), t);
        c.invalidate_identity(id);
        assert!(c.get("d3").is_some());
    }

    #[test]
    fn a_read_after_the_invalidation_is_served() {
        let c = cache();
        let id = IdentityId::new();
        c.invalidate_identity(id);
        let t = c.ticket().unwrap();
        c.put("d1", session(id), t);
        assert!(c.get("d1").is_some());
    }

    #[test]
    fn offline_serves_nothing_and_flushes() {
        let c = cache();
        let id = IdentityId::new();
        let t = c.ticket().unwrap();
        c.put("d1", session(id), t);
        let before = c.ticket().unwrap();
        c.set_live(false);
        assert!(c.ticket().is_none());
        assert!(c.get("d1").is_none());
        c.set_live(true);
        assert!(c.get("d1").is_none());
        // A read begun before going offline is not stored either.
        c.put("d1", session(id), before);
        assert!(c.get("d1").is_none());
    }

    #[test]
    fn expires_and_stays_bounded() {
        let c = SessionCache::new(64, Duration::from_millis(30), true);
        for i in 0..1000 {
            let t = c.ticket().unwrap();
            c.put(&format!("d{i}"), session(IdentityId::new()), t);
        }
        assert!(c.len() <= 64, "{}", c.len());
        let t = c.ticket().unwrap();
        c.put("x", session(IdentityId::new()), t);
        std::thread::sleep(Duration::from_millis(40));
        assert!(c.get("x").is_none());
    }

    #[test]
    fn a_refresh_is_due_once_after_three_quarters_of_the_life() {
        let c = SessionCache::new(64, Duration::from_secs(1), true);
        let t = c.ticket().unwrap();
        let e = c.put("r", session(IdentityId::new()), t);
        assert!(!e.refresh_due(), "young entries are not refreshed");
        std::thread::sleep(e.life.mul_f64(0.8));
        assert!(c.get("r").is_some(), "still served while due");
        assert!(e.refresh_due());
        assert!(!e.refresh_due(), "one refresh per entry");
        assert!(!Cached::uncached(session(IdentityId::new())).refresh_due());
    }

    #[test]
    fn lifetimes_spread_over_the_last_quarter_of_the_ttl() {
        let c = cache();
        let lives: Vec<Duration> = (0..200).map(|_| c.life()).collect();
        assert!(lives.iter().all(|l| *l > c.ttl * 3 / 4 && *l <= c.ttl));
        let spread = *lives.iter().max().unwrap() - *lives.iter().min().unwrap();
        assert!(spread > c.ttl / 8, "{spread:?} of {:?}", c.ttl);
    }

    #[test]
    fn a_lease_bounds_serving() {
        let c = cache();
        let id = IdentityId::new();
        c.require_lease();
        assert!(c.ticket().is_none(), "no lease yet");
        c.renew_lease(Instant::now(), Duration::from_millis(50));
        let t = c.ticket().unwrap();
        c.put("d1", session(id), t);
        assert!(c.get("d1").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get("d1").is_none(), "the lease ran out");
        // An older heartbeat never shortens a lease.
        c.renew_lease(Instant::now(), Duration::from_secs(10));
        c.renew_lease(
            Instant::now() - Duration::from_secs(5),
            Duration::from_millis(1),
        );
        assert!(c.ticket().is_some());
    }

    #[test]
    fn concurrent_invalidations_never_lower_the_stamp() {
        let c = Arc::new(cache());
        let id = IdentityId::new();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.invalidate_identity(id);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // The recorded stamp is the last one handed out.
        assert_eq!(c.last_invalidation(&id), c.counter.load(Ordering::SeqCst));
    }

    #[test]
    fn disabled_caches_nothing() {
        let c = SessionCache::disabled();
        assert!(c.ticket().is_none());
        assert!(c.get("d").is_none());
    }
}
