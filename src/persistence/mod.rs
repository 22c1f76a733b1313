//! All SQL, migrations and transactions, on SQLite and PostgreSQL.
//!
//! Both databases are reached through sqlx's `Any` driver with column types that mean the same on
//! both: ids are TEXT (hyphenated UUIDs, as Kratos's SQLite migrations use), timestamps are BIGINT
//! microseconds since the epoch, JSON is TEXT, flags are BIGINT 0/1. So each query is written once and
//! the two migration folders differ only where DDL must. (The alternative, functions generic over the
//! sqlx `Database`, needs a wall of higher-ranked trait bounds on every query for no behavioural gain;
//! the black-box suite runs every behaviour on both backends to guard the shared SQL.)
//!
//! SQLite gets a separate single-connection write pool: SQLite has one writer at a time, and a
//! dedicated writer avoids `SQLITE_BUSY` upgrades of deferred transactions under concurrency, while
//! readers run in parallel under WAL.

pub mod cleanup;
pub mod code;
pub mod courier;
pub mod flow;
pub mod identity;
pub mod notify;
pub mod rate_limit;
pub mod rows;
pub mod session;
pub mod session_reauth;

pub use crate::config::DsnKind;
use crate::error::{Error, Result};
use crate::ids::IdentityId;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use std::sync::Arc;
use std::time::Duration;

/// The database handle: a read pool and a write pool (the same pool on PostgreSQL).
#[derive(Clone)]
pub struct Persister {
    pub(crate) read: AnyPool,
    pub(crate) write: AnyPool,
    backend: Backend,
    /// The PostgreSQL URL (for listening connections, see [`notify`]).
    pg_url: Option<String>,
    /// How many cleanup passes have completed (see [`Persister::cleanup_passes`]).
    cleanups: Arc<tokio::sync::watch::Sender<u64>>,
}

/// What a write that changes what session checks answer returns: its result, and the identities
/// whose sessions (or whose fields a session check shows) it changed. Persistence only reports
/// them; the session room (`session/store.rs`) invalidates what its caches hold for them.
#[must_use = "the changed identities must reach the session store"]
pub struct Written<T> {
    value: T,
    changed: Vec<IdentityId>,
}

impl<T> Written<T> {
    pub(crate) fn new(value: T, changed: Vec<IdentityId>) -> Written<T> {
        Written { value, changed }
    }

    /// `value`, having changed `identity` when `changed` is true.
    pub(crate) fn of(value: T, identity: IdentityId, changed: bool) -> Written<T> {
        Written::new(value, if changed { vec![identity] } else { vec![] })
    }

    /// The result and the changed identities (for the session store alone).
    pub(crate) fn into_parts(self) -> (T, Vec<IdentityId>) {
        (self.value, self.changed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATOR_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Persister {
    pub async fn connect(kind: &DsnKind) -> Result<Persister> {
        sqlx::any::install_default_drivers();
        match kind {
            DsnKind::Postgres(url) => {
                let pool = AnyPoolOptions::new()
                    // No ping before every checkout: a broken connection fails its query and is
                    // replaced; the ping cost a round trip per whoami (see BENCHMARKS.md).
                    .test_before_acquire(false)
                    .max_connections(32)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                Ok(Persister {
                    read: pool.clone(),
                    write: pool,
                    backend: Backend::Postgres,
                    pg_url: Some(url.clone()),
                    cleanups: Arc::new(tokio::sync::watch::channel(0).0),
                })
            }
            DsnKind::SqliteFile(url) => Self::connect_sqlite(url.clone(), 8).await,
            DsnKind::Memory => {
                // A named shared-cache database, unique per Persister, so that every pooled
                // connection sees the same data and two in-process servers never share one.
                let url = format!(
                    "sqlite:file:ostiary-{}?mode=memory&cache=shared",
                    uuid::Uuid::new_v4().simple()
                );
                Self::connect_sqlite(url, 4).await
            }
        }
    }

    async fn connect_sqlite(url: String, readers: u32) -> Result<Persister> {
        // The writer first: it creates the file and switches it to WAL before readers open it.
        let write = AnyPoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(sqlite_pragmas)
            .connect(&url)
            .await?;
        let read = AnyPoolOptions::new()
            .test_before_acquire(false)
            .max_connections(readers)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(sqlite_pragmas)
            .connect(&url)
            .await?;
        Ok(Persister {
            read,
            write,
            backend: Backend::Sqlite,
            pg_url: None,
            cleanups: Arc::new(tokio::sync::watch::channel(0).0),
        })
    }

    /// The PostgreSQL URL, when that is the backend.
    pub(crate) fn pg_url(&self) -> Option<&str> {
        self.pg_url.as_deref()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQL for the database's clock, in microseconds since the epoch (SQLite's has millisecond
    /// resolution). Used where the order of writes matters more than any node's clock.
    pub(crate) fn db_now(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
        }
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &MIGRATOR_SQLITE,
            Backend::Postgres => &MIGRATOR_POSTGRES,
        }
    }

    /// Apply every pending migration; running it again is a no-op.
    pub async fn migrate(&self) -> Result<usize> {
        let before = self.applied_versions().await?.len();
        self.migrator()
            .run(&self.write)
            .await
            .map_err(|e| Error::internal(format!("migration failed: {e}")))?;
        let after = self.applied_versions().await?.len();
        Ok(after.saturating_sub(before))
    }

    /// Versions of the migrations this binary knows that are not applied yet.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let applied = self.applied_versions().await?;
        Ok(self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    async fn applied_versions(&self) -> Result<Vec<i64>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let (exists,): (i64,) = sqlx::query_as(sql).fetch_one(&self.read).await?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        let versions: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.read)
                .await?;
        Ok(versions.into_iter().map(|(v,)| v).collect())
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Close the pools (the session store waits for its write units first).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Every SQLite connection: foreign keys enforced, WAL for concurrent readers with one writer,
/// memory-mapped reads and a 16 MiB page cache (large session indexes stay in memory),
/// FULL sync (every acknowledged commit survives a power loss), and a busy timeout.
fn sqlite_pragmas<'c>(
    conn: &'c mut sqlx::AnyConnection,
    _: sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'c, std::result::Result<(), sqlx::Error>> {
    Box::pin(async move {
        conn.execute(
            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
             PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;",
        )
        .await
        .map(|_| ())
    })
}

/// Map a unique-constraint violation to 409 with the given reason; other errors pass through.
pub(crate) fn on_unique(err: sqlx::Error, reason: &str) -> Error {
    if let sqlx::Error::Database(db) = &err {
        if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
            return Error::conflict(reason);
        }
    }
    Error::Database(err)
}

/// `$1, $2, …, $n` starting after `offset` bound parameters (both backends accept `$N`).
pub(crate) fn placeholders(offset: usize, n: usize) -> String {
    (1..=n)
        .map(|i| format!("${}", offset + i))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_kinds() {
        assert_eq!(DsnKind::parse("memory"), Ok(DsnKind::Memory));
        assert_eq!(
            DsnKind::parse("sqlite://file::memory:?_fk=true&cache=shared"),
            Ok(DsnKind::Memory)
        );
        assert_eq!(
            DsnKind::parse("sqlite:///var/lib/kratos/db.sqlite?_fk=true"),
            Ok(DsnKind::SqliteFile(
                "sqlite:///var/lib/kratos/db.sqlite?mode=rwc".into()
            ))
        );
        assert!(matches!(
            DsnKind::parse("postgres://u:p@localhost:5432/db?sslmode=disable&max_conns=20"),
            Ok(DsnKind::Postgres(u)) if u == "postgres://u:p@localhost:5432/db?sslmode=disable"
        ));
        assert!(DsnKind::parse("postgresql://localhost/x").is_ok());
        assert!(DsnKind::parse("mysql://x").is_err());
        assert!(DsnKind::parse("nonsense").is_err());
        assert!(DsnKind::parse("sqlite://").is_err());
    }

    #[test]
    fn migration_folders_match() {
        let names = |m: &sqlx::migrate::Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&MIGRATOR_SQLITE), names(&MIGRATOR_POSTGRES));
    }
}
