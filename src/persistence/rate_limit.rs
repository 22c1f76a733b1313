//! Rate-limit counters: one row per key, a fixed window, updated atomically with one upsert.

use super::Persister;
use crate::error::Result;
use crate::time::to_micros;
use chrono::{DateTime, Duration, Utc};

impl Persister {
    /// Count one event for `key` in the current window (starting a new window when the last one is
    /// over); returns the count and the window's start.
    pub async fn rate_hit(
        &self,
        key: &str,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<(i64, i64)> {
        let expired_before = to_micros(now - window);
        let row: (i64, i64) = sqlx::query_as(
            "INSERT INTO rate_limits (key, count, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END, \
             window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END \
             RETURNING count, window_start",
        )
        .bind(key)
        .bind(to_micros(now))
        .bind(expired_before)
        .fetch_one(&self.write)
        .await?;
        Ok(row)
    }

    /// Take one event back from `key` (an attempt counted first that turned out to be legitimate).
    pub async fn rate_release(&self, key: &str) -> Result<()> {
        sqlx::query("UPDATE rate_limits SET count = count - 1 WHERE key = $1 AND count > 0")
            .bind(key)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Forget `key` (after a successful login the identifier's failures no longer count).
    pub async fn rate_reset(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM rate_limits WHERE key = $1")
            .bind(key)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Delete counters whose window ended before `before` (the janitor).
    pub async fn rate_cleanup(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
                .bind(to_micros(before))
                .execute(&self.write)
                .await?
                .rows_affected(),
        )
    }
}
