//! Outgoing messages. Flows never send mail themselves: they render a template and write the message
//! to the `courier_messages` table; a dispatcher (in `serve`, or `ostiary courier watch`) delivers
//! queued messages over SMTP, retrying with backoff.

pub mod dispatcher;
pub mod smtp;
pub mod templates;

use crate::error::Result;
use crate::persistence::courier::Message;
use crate::registry::Registry;
use serde_json::Value;

pub use crate::config::CourierConfig;
use uuid::Uuid;

/// Whether a rendered text holds one of the template's codes or links: every value of the template
/// data but the recipient (`To`).
fn holds_secret(text: &str, data: &Value) -> bool {
    data.as_object().is_some_and(|o| {
        o.iter()
            .filter(|(k, _)| k.as_str() != "To")
            .filter_map(|(_, v)| v.as_str())
            .any(|v| !v.is_empty() && text.contains(v))
    })
}

/// Render a template and queue the email. Returns the message id.
pub async fn queue_email(r: &Registry, to: &str, template: &str, data: &Value) -> Result<Uuid> {
    let cfg = &r.config.courier;
    let rendered = templates::render(cfg.template_override_path.as_deref(), template, data);
    let now = r.clock.now();
    let message = Message {
        id: Uuid::new_v4(),
        kind: "email".into(),
        status: "queued".into(),
        recipient: to.to_string(),
        subject: rendered.subject,
        body: rendered.body,
        template_type: template.to_string(),
        channel: "email".into(),
        send_count: 0,
        created_at: now,
        updated_at: now,
    };
    r.persister
        .enqueue_message_with(&message, holds_secret(&message.subject, data))
        .await?;
    r.courier_wakeup.notify_one();
    Ok(message.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_subject_holds_a_secret_when_it_shows_a_code_or_link() {
        let data = json!({"To": "a@example.com", "RecoveryCode": "123456", "RecoveryURL": ""});
        assert!(holds_secret("Your code: 123456", &data));
        assert!(!holds_secret("Recover access to your account", &data));
        assert!(!holds_secret("Mail for a@example.com", &data));
    }
}
