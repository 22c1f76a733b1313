//! The expired-data janitor: deletes expired flows, sessions, codes, stored errors, old sent or
//! abandoned courier messages and stale rate-limit counters in small batches, so no table is locked
//! for long. `serve` runs it (`ostiary.cleanup`, on by default: a pass at start, then every
//! `interval`, deleting what expired more than `keep_for` ago); `ostiary cleanup sql` runs one
//! pass.

use super::Persister;
use crate::clock::Clock;
use crate::config::Cleanup;
use crate::error::Result;
use crate::time::to_micros;
use chrono::{DateTime, Utc};
use std::future::Future;

/// How many rows each kind of cleanup deleted.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Cleaned {
    pub flows: u64,
    pub sessions: u64,
    pub codes: u64,
    pub errors: u64,
    pub messages: u64,
    pub rate_limits: u64,
}

impl Cleaned {
    pub fn total(&self) -> u64 {
        self.flows + self.sessions + self.codes + self.errors + self.messages + self.rate_limits
    }
}

impl Persister {
    /// Delete in batches of `batch` rows every row that expired (or, for stored errors, was
    /// created; for sent or abandoned messages, last updated) before `before`. Each completed call
    /// counts as one pass ([`Persister::cleanup_passes`]).
    pub async fn cleanup(
        &self,
        before: DateTime<Utc>,
        batch: i64,
        pause: std::time::Duration,
    ) -> Result<Cleaned> {
        let b = to_micros(before);
        let mut out = Cleaned::default();
        let jobs: [(&str, &str, &str); 5] = [
            ("selfservice_flows", "id", "expires_at < $1"),
            ("sessions", "id", "expires_at < $1"),
            ("selfservice_codes", "id", "expires_at < $1"),
            ("selfservice_errors", "id", "created_at < $1"),
            (
                "courier_messages",
                "id",
                "status IN ('sent', 'abandoned') AND updated_at < $1",
            ),
        ];
        for (i, (table, key, cond)) in jobs.iter().enumerate() {
            let sql = format!(
                "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {cond} LIMIT $2)"
            );
            loop {
                let n = sqlx::query(&sql)
                    .bind(b)
                    .bind(batch)
                    .execute(&self.write)
                    .await?
                    .rows_affected();
                match i {
                    0 => out.flows += n,
                    1 => out.sessions += n,
                    2 => out.codes += n,
                    3 => out.errors += n,
                    _ => out.messages += n,
                }
                if (n as i64) < batch {
                    break;
                }
                tokio::time::sleep(pause).await;
            }
        }
        out.rate_limits = self.rate_cleanup(before).await?;
        self.cleanups.send_modify(|n| *n += 1);
        Ok(out)
    }

    /// How many cleanup passes have completed on this database handle (whoever ran them); a
    /// receiver to wait for the next one.
    pub fn cleanup_passes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.cleanups.subscribe()
    }
}

/// The janitor inside `serve`: a pass at once, then one every `cfg.interval`, until `shutdown`
/// resolves. Each pass deletes what expired more than `cfg.keep_for` before `clock`'s now. A
/// failed pass is logged and tried again at the next interval.
pub async fn janitor(p: Persister, clock: Clock, cfg: Cleanup, shutdown: impl Future<Output = ()>) {
    let every = cfg
        .interval
        .0
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(3600))
        .max(std::time::Duration::from_millis(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        let pass = p.cleanup(
            clock.now() - cfg.keep_for.0,
            cfg.batch_size.max(1),
            std::time::Duration::from_millis(50),
        );
        let result = tokio::select! {
            _ = &mut shutdown => return,
            r = pass => r,
        };
        match result {
            Ok(n) if n.total() > 0 => tracing::info!(
                rows = n.total(),
                flows = n.flows,
                sessions = n.sessions,
                codes = n.codes,
                errors = n.errors,
                messages = n.messages,
                rate_limits = n.rate_limits,
                "expired data cleaned up"
            ),
            Ok(_) => tracing::debug!("nothing expired to clean up"),
            Err(e) => tracing::warn!(error = %e, "cleanup failed"),
        }
    }
}
