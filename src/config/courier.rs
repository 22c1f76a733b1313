//! The courier's settings (`courier.*`), typed once at load. The schema check has already
//! refused values of the wrong type; keys Ostiary does not act on are left out.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The courier settings (`courier.*`), read once when the configuration is loaded.
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

impl<'de> Deserialize<'de> for CourierConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(|v| CourierConfig::from_value(&v))
    }
}

impl Default for CourierConfig {
    /// Kratos's defaults: no SMTP server, `no-reply@ory.kratos.sh`, five attempts.
    fn default() -> Self {
        CourierConfig::from_value(&Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_kratos_s_and_values_are_read_once() {
        let d = CourierConfig::default();
        assert_eq!(d.from_address, "no-reply@ory.kratos.sh");
        assert_eq!(d.message_retries, 5);
        let c: CourierConfig = serde_json::from_value(serde_json::json!({
            "smtp": {"connection_uri": "smtps://mail:465/", "headers": {"X-A": "b"}},
            "message_retries": 2
        }))
        .unwrap();
        assert_eq!(c.connection_uri.as_deref(), Some("smtps://mail:465/"));
        assert_eq!(c.headers, [("X-A".to_string(), "b".to_string())]);
        assert_eq!(c.message_retries, 2);
    }
}
