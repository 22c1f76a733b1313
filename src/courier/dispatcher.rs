//! The dispatcher: claims due messages (each message is claimed by one node only), sends them, and
//! records each attempt; failed deliveries are retried with exponential backoff until
//! `courier.message_retries` attempts, then abandoned.

use super::smtp::Smtp;
use super::CourierConfig;
use crate::registry::Registry;
use chrono::Duration;
use std::future::Future;

/// Backoff before attempt `n + 1` after `n` failed attempts: 1 s, 2 s, 4 s, … capped at 5 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 1i64 << attempts.clamp(0, 8);
    Duration::seconds(secs.min(300))
}

/// Deliver due messages once; returns how many were handled.
pub async fn dispatch_batch(
    r: &Registry,
    smtp: &Smtp,
    cfg: &CourierConfig,
) -> crate::error::Result<usize> {
    let now = r.clock.now();
    let batch = r
        .persister
        .claim_messages(now, Duration::seconds(60), 16)
        .await?;
    let n = batch.len();
    for m in batch {
        let result = smtp.send(&m).await;
        let now = r.clock.now();
        // The recipient is sensitive (log.leak_sensitive_values), and so is an error that may
        // quote it (an SMTP server's reply).
        let log = &r.config.log;
        let recipient = log.sensitive(&m.recipient);
        match result {
            Ok(()) => {
                tracing::info!(message_id = %m.id, template = %m.template_type, recipient, "courier: message sent");
                r.persister
                    .record_attempt(m.id, "sent", now, None, now)
                    .await?;
            }
            Err(e) => {
                let shown = log.scrub(&e, &m.recipient);
                tracing::warn!(message_id = %m.id, template = %m.template_type, recipient, attempt = m.send_count + 1, error = %shown, "courier delivery failed");
                let attempts = m.send_count + 1;
                let (status, next) = if attempts >= cfg.message_retries {
                    ("abandoned", now)
                } else {
                    ("queued", now + backoff(attempts - 1))
                };
                let err = serde_json::json!({ "message": e }).to_string();
                r.persister
                    .record_attempt(m.id, status, next, Some(&err), now)
                    .await?;
            }
        }
    }
    Ok(n)
}

/// Run until `shutdown` resolves: deliver whenever a message is queued (woken at once on this node)
/// or at least every `poll` (messages queued by other nodes, and retries).
pub async fn run(r: Registry, poll: std::time::Duration, shutdown: impl Future<Output = ()>) {
    let cfg = r.config.courier.clone();
    let smtp = match Smtp::from_config(&cfg) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("courier disabled: {e}");
            shutdown.await;
            return;
        }
    };
    tokio::pin!(shutdown);
    loop {
        match dispatch_batch(&r, &smtp, &cfg).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "courier dispatch failed"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = r.courier_wakeup.notified() => {},
            _ = tokio::time::sleep(poll) => {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(0), Duration::seconds(1));
        assert_eq!(backoff(1), Duration::seconds(2));
        assert_eq!(backoff(3), Duration::seconds(8));
        assert_eq!(backoff(20), Duration::seconds(256));
    }
}
