//! Every courier query: enqueue, claim a batch for delivery (never the same message on two nodes),
//! record the outcome of an attempt, list and get for the admin API.
//!
//! A message's body holds the codes and links it delivers, so once the message is sent or abandoned
//! its body is replaced by [`REDACTED_BODY`] in the same statement that records the outcome (and
//! its subject too, when the subject holds one of them).

use super::rows::uuid;
use super::{Backend, Persister};
use crate::error::Result;
use crate::time::{from_micros, to_micros};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Message {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub template_type: String,
    pub channel: String,
    pub send_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Dispatch {
    pub id: Uuid,
    pub message_id: Uuid,
    pub status: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a sent or abandoned message's body (and secret-bearing subject) reads afterwards.
pub const REDACTED_BODY: &str = "<redacted-once-sent-or-abandoned>";

const COLUMNS: &str = "id, type, status, recipient, subject, body, template_type, channel, send_count, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    #[sqlx(rename = "type")]
    kind: String,
    status: String,
    recipient: String,
    subject: String,
    body: String,
    template_type: String,
    channel: String,
    send_count: i64,
    created_at: i64,
    updated_at: i64,
}

impl MessageRow {
    fn into_message(self) -> Result<Message> {
        Ok(Message {
            id: uuid(&self.id)?,
            kind: self.kind,
            status: self.status,
            recipient: self.recipient,
            subject: self.subject,
            body: self.body,
            template_type: self.template_type,
            channel: self.channel,
            send_count: self.send_count,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

impl Persister {
    pub async fn enqueue_message(&self, m: &Message) -> Result<()> {
        self.enqueue_message_with(m, false).await
    }

    /// Queue a message; `redact_subject` says its subject holds a code or link, to be redacted
    /// with the body once the message is sent or abandoned.
    pub async fn enqueue_message_with(&self, m: &Message, redact_subject: bool) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO courier_messages ({COLUMNS}, next_attempt_at, redact_subject) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(m.id.to_string())
        .bind(&m.kind)
        .bind(&m.status)
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(&m.template_type)
        .bind(&m.channel)
        .bind(m.send_count)
        .bind(to_micros(m.created_at))
        .bind(to_micros(m.updated_at))
        .bind(to_micros(m.created_at))
        .bind(redact_subject as i64)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Claim up to `limit` messages due for delivery: queued ones whose retry time has come, and
    /// processing ones whose claim lapsed (their node died). On PostgreSQL `FOR UPDATE SKIP LOCKED`
    /// keeps two nodes from claiming the same message; SQLite has one writer.
    pub async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        claim_for: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE courier_messages SET status = 'processing', claimed_until = $1, updated_at = $2 \
             WHERE id IN (SELECT id FROM courier_messages WHERE \
             ((status = 'queued' AND next_attempt_at <= $2) OR (status = 'processing' AND claimed_until < $2)) \
             ORDER BY created_at LIMIT $3{lock}) RETURNING {COLUMNS}"
        );
        let rows: Vec<MessageRow> = sqlx::query_as(&sql)
            .bind(to_micros(now + claim_for))
            .bind(to_micros(now))
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        rows.into_iter().map(MessageRow::into_message).collect()
    }

    /// Record one delivery attempt: `sent`, or back to `queued` with a retry time, or `abandoned`.
    /// A message that will not be sent again loses its body (and secret-bearing subject) here.
    pub async fn record_attempt(
        &self,
        id: Uuid,
        status: &str,
        next_attempt_at: DateTime<Utc>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let done = matches!(status, "sent" | "abandoned");
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE courier_messages SET status = $1, send_count = send_count + 1, next_attempt_at = $2, \
             claimed_until = NULL, updated_at = $3, \
             body = CASE WHEN $5 = 1 THEN $6 ELSE body END, \
             subject = CASE WHEN $5 = 1 AND redact_subject = 1 THEN $6 ELSE subject END \
             WHERE id = $4",
        )
        .bind(status)
        .bind(to_micros(next_attempt_at))
        .bind(to_micros(now))
        .bind(id.to_string())
        .bind(done as i64)
        .bind(REDACTED_BODY)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO courier_message_dispatches (id, message_id, status, error, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(Uuid::new_v4().to_string())
            .bind(id.to_string())
            .bind(if status == "sent" { "success" } else { "failed" })
            .bind(error)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Admin list, newest first, keyset on (created_at DESC, id ASC).
    pub async fn list_messages(
        &self,
        status: Option<&str>,
        recipient: Option<&str>,
        after: Option<(i64, Uuid)>,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let mut sql = format!("SELECT {COLUMNS} FROM courier_messages WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(s) = status {
            binds.push(s.to_string());
            sql.push_str(&format!(" AND status = ${}", binds.len()));
        }
        if let Some(r) = recipient {
            binds.push(r.to_string());
            sql.push_str(&format!(" AND recipient = ${}", binds.len()));
        }
        let mut q_after = None;
        if let Some((created, id)) = after {
            sql.push_str(&format!(
                " AND (created_at < ${a} OR (created_at = ${a} AND id > ${b}))",
                a = binds.len() + 1,
                b = binds.len() + 2
            ));
            q_after = Some((created, id.to_string()));
        }
        let n = binds.len() + if q_after.is_some() { 3 } else { 1 };
        sql.push_str(&format!(" ORDER BY created_at DESC, id ASC LIMIT ${n}"));
        let mut q = sqlx::query_as::<_, MessageRow>(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        if let Some((c, i)) = q_after {
            q = q.bind(c).bind(i);
        }
        let rows = q.bind(limit).fetch_all(&self.read).await?;
        rows.into_iter().map(MessageRow::into_message).collect()
    }

    pub async fn get_message(&self, id: Uuid) -> Result<Option<(Message, Vec<Dispatch>)>> {
        let row: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM courier_messages WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let dispatches: Vec<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT id, message_id, status, error, created_at FROM courier_message_dispatches WHERE message_id = $1 ORDER BY created_at",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        let dispatches = dispatches
            .into_iter()
            .map(|(id, m, status, error, at)| {
                Ok(Dispatch {
                    id: uuid(&id)?,
                    message_id: uuid(&m)?,
                    status,
                    error,
                    created_at: from_micros(at),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some((row.into_message()?, dispatches)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistence::DsnKind;

    /// The migration that brought in the redaction.
    const REDACTION: i64 = 20261209000001;

    #[tokio::test]
    async fn the_upgrade_redacts_messages_already_sent_or_abandoned() {
        let p = Persister::connect(&DsnKind::Memory).await.unwrap();
        let earlier: Vec<_> = p
            .migrator()
            .iter()
            .filter(|m| m.version < REDACTION)
            .cloned()
            .collect();
        assert!(earlier.len() < p.migrator().iter().count());
        sqlx::migrate::Migrator {
            migrations: earlier.into(),
            ..sqlx::migrate::Migrator::DEFAULT
        }
        .run(&p.write)
        .await
        .unwrap();
        let mut ids = Vec::new();
        for status in ["sent", "abandoned", "queued", "processing"] {
            let id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO courier_messages (id, type, status, recipient, subject, body, \
                 template_type, channel, send_count, next_attempt_at, created_at, updated_at) \
                 VALUES ($1, 'email', $2, 'a@example.com', 'Subject', 'Your code: 123456', \
                 'recovery_code_valid', 'email', 1, 0, 0, 0)",
            )
            .bind(id.to_string())
            .bind(status)
            .execute(&p.write)
            .await
            .unwrap();
            ids.push((id, status));
        }
        p.migrate().await.unwrap();
        for (id, status) in ids {
            let (m, _) = p.get_message(id).await.unwrap().unwrap();
            let done = matches!(status, "sent" | "abandoned");
            assert_eq!(m.body == REDACTED_BODY, done, "{status}");
            assert_eq!(m.body.contains("123456"), !done, "{status}");
            assert_eq!(m.subject, "Subject");
        }
    }
}
