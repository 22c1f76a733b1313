//! Delivery over SMTP with lettre: `smtp://` (STARTTLS when the server offers it, unless
//! `disable_starttls=true`) and `smtps://` (implicit TLS), credentials from the URI, and
//! `skip_ssl_verify=true` for test servers.

use super::CourierConfig;
use crate::persistence::courier::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    headers: Vec<(String, String)>,
}

impl Smtp {
    pub fn from_config(c: &CourierConfig) -> Result<Smtp, String> {
        let uri = c
            .connection_uri
            .as_deref()
            .ok_or("courier.smtp.connection_uri is not set")?;
        let url = url::Url::parse(uri).map_err(|e| format!("courier.smtp.connection_uri: {e}"))?;
        let host = url
            .host_str()
            .ok_or("courier.smtp.connection_uri has no host")?
            .to_string();
        let skip_verify = url
            .query_pairs()
            .any(|(k, v)| k == "skip_ssl_verify" && v == "true");
        let disable_starttls = url
            .query_pairs()
            .any(|(k, v)| k == "disable_starttls" && v == "true");
        let tls_params = TlsParameters::builder(host.clone())
            .dangerous_accept_invalid_certs(skip_verify)
            .dangerous_accept_invalid_hostnames(skip_verify)
            .build()
            .map_err(|e| format!("courier.smtp.connection_uri: TLS: {e}"))?;
        let (tls, default_port) = match url.scheme() {
            "smtps" => (Tls::Wrapper(tls_params), 465),
            "smtp" if disable_starttls => (Tls::None, 25),
            "smtp" => (Tls::Opportunistic(tls_params), 25),
            other => {
                return Err(format!(
                    "courier.smtp.connection_uri: unsupported scheme {other:?}"
                ))
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(url.port().unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(10)));
        if !url.username().is_empty() {
            let user = percent_encoding::percent_decode_str(url.username())
                .decode_utf8_lossy()
                .to_string();
            let pass = percent_encoding::percent_decode_str(url.password().unwrap_or(""))
                .decode_utf8_lossy()
                .to_string();
            builder = builder.credentials(Credentials::new(user, pass));
        }
        if let Some(name) = &c.local_name {
            builder = builder.hello_name(lettre::transport::smtp::extension::ClientId::Domain(
                name.clone(),
            ));
        }
        let from_text = match &c.from_name {
            Some(n) => format!("{n} <{}>", c.from_address),
            None => c.from_address.clone(),
        };
        let from: Mailbox = from_text
            .parse()
            .map_err(|e| format!("courier.smtp.from_address: {e}"))?;
        Ok(Smtp {
            transport: builder.build(),
            from,
            headers: c.headers.clone(),
        })
    }

    pub async fn send(&self, m: &Message) -> Result<(), String> {
        let to: Mailbox = m
            .recipient
            .parse()
            .map_err(|e| format!("invalid recipient: {e}"))?;
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(format!("<{}@ostiary>", m.id)));
        for (k, v) in &self.headers {
            if let Ok(name) = HeaderName::new_from_ascii(k.clone()) {
                builder = builder.raw_header(HeaderValue::new(name, v.clone()));
            }
        }
        let email = builder
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| format!("cannot build the email: {e}"))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP delivery failed: {e}"))
    }
}
