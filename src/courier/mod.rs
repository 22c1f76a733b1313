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
use uuid::Uuid;

/// The courier settings (`courier.*`).
#[derive(Debug, Clone)]
pub struct CourierConfig {
    pub connection_uri: Option<String>,
    pub from_address: String,
    pub from_name: Option<String>,
    pub headers: Vec<(String, String)>,
    pub local_name: Option<String>,
    /// A client certificate and its key (PEM files) for servers that authenticate clients by TLS.
    pub client_cert_path: Option<String>,
    pub client_key_path: Option<String>,
    pub template_override_path: Option<String>,
    /// Attempts before a message is abandoned (`courier.message_retries`, default 5).
    pub message_retries: i64,
}

impl CourierConfig {
    pub fn from_value(v: &Value) -> CourierConfig {
        let s = |ptr: &str| v.pointer(ptr).and_then(Value::as_str).map(str::to_string);
        CourierConfig {
            connection_uri: s("/smtp/connection_uri"),
            from_address: s("/smtp/from_address")
                .unwrap_or_else(|| "no-reply@ory.kratos.sh".into()),
            from_name: s("/smtp/from_name"),
            headers: v
                .pointer("/smtp/headers")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            local_name: s("/smtp/local_name"),
            client_cert_path: s("/smtp/client_cert_path").filter(|p| !p.is_empty()),
            client_key_path: s("/smtp/client_key_path").filter(|p| !p.is_empty()),
            template_override_path: s("/template_override_path"),
            message_retries: v
                .pointer("/message_retries")
                .and_then(Value::as_i64)
                .unwrap_or(5)
                .max(1),
        }
    }
}

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
    let cfg = CourierConfig::from_value(&r.config.courier);
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
