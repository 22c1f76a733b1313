//! The expired-data janitor: deletes expired flows, sessions, codes, stored errors and old sent
//! courier messages in small batches, so no table is locked for long.

use super::Persister;
use crate::error::Result;
use crate::time::to_micros;
use chrono::{DateTime, Utc};

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
    /// Delete in batches of `batch` rows every row that expired (or, for sent messages and stored
    /// errors, was created) before `before`.
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
                "status = 'sent' AND updated_at < $1",
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
        Ok(out)
    }
}
