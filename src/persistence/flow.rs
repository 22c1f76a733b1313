//! Self-service flow and error storage: each flow is kept as its JSON document plus the columns
//! needed to find and expire it.

use super::Persister;
use crate::error::Result;
use crate::time::to_micros;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// The columns of a flow row besides its id and timestamps.
pub struct FlowRecord<'a> {
    pub kind: &'a str,
    pub flow_type: &'a str,
    pub state: &'a str,
    pub body: &'a Value,
    pub expires_at: DateTime<Utc>,
}

/// A stored flow: its kind (`login`, `registration`, …) and its document.
#[derive(Debug, Clone)]
pub struct StoredFlow {
    pub id: Uuid,
    pub kind: String,
    pub body: Value,
}

impl Persister {
    /// Insert or replace a flow document.
    pub async fn save_flow(&self, id: Uuid, rec: FlowRecord<'_>, now: DateTime<Utc>) -> Result<()> {
        let FlowRecord {
            kind,
            flow_type,
            state,
            body,
            expires_at,
        } = rec;
        let mut tx = self.write.begin().await?;
        let updated = sqlx::query(
            "UPDATE selfservice_flows SET state = $1, body = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(state)
        .bind(body.to_string())
        .bind(to_micros(now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO selfservice_flows (id, kind, type, state, body, expires_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id.to_string())
            .bind(kind)
            .bind(flow_type)
            .bind(state)
            .bind(body.to_string())
            .bind(to_micros(expires_at))
            .bind(to_micros(now))
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_flow(&self, id: Uuid) -> Result<Option<StoredFlow>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT kind, body FROM selfservice_flows WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.read)
                .await?;
        row.map(|(kind, body)| {
            Ok(StoredFlow {
                id,
                kind,
                body: super::rows::json(&body)?,
            })
        })
        .transpose()
    }

    /// Atomically move a flow from one state to another; false if it was not in `from` (a replay).
    pub async fn transition_flow(
        &self,
        id: Uuid,
        from: &str,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE selfservice_flows SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(to)
        .bind(to_micros(now))
        .bind(id.to_string())
        .bind(from)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Count one code submission on a flow, unless it had `max` already: one atomic statement, so
    /// parallel submissions each get their own number. False when the flow is used up (or gone).
    pub async fn count_code_submission(&self, id: Uuid, max: i64) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE selfservice_flows SET submit_count = submit_count + 1 \
             WHERE id = $1 AND submit_count < $2 RETURNING submit_count",
        )
        .bind(id.to_string())
        .bind(max)
        .fetch_optional(&self.write)
        .await?;
        Ok(row.is_some())
    }

    pub async fn save_error(&self, id: Uuid, error: &Value, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT INTO selfservice_errors (id, error, created_at) VALUES ($1, $2, $3)")
            .bind(id.to_string())
            .bind(error.to_string())
            .bind(to_micros(now))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn get_error(&self, id: Uuid) -> Result<Option<(Value, i64)>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT error, created_at FROM selfservice_errors WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.read)
                .await?;
        row.map(|(e, at)| Ok((super::rows::json(&e)?, at)))
            .transpose()
    }
}
