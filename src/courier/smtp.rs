//! Delivery over SMTP with lettre, reading the connection URI as Kratos does:
//! * `smtps://` is implicit TLS;
//! * `smtp://` requires STARTTLS: a server that does not offer it gets no message (delivery fails
//!   and the courier retries), since falling back to plaintext would let anyone on the path read
//!   the recovery and verification codes. `?disable_starttls=true` asks for plaintext explicitly
//!   (local test servers only);
//! * `?skip_ssl_verify=true` accepts any server certificate, `?server_name=` names the one to
//!   expect; credentials come from the URI's user and password;
//! * `courier.smtp.client_cert_path` and `client_key_path` (PEM) give a client certificate for
//!   servers that authenticate clients by TLS.

use super::CourierConfig;
use crate::persistence::courier::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Identity, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

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
        let query = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let skip_verify = query("skip_ssl_verify").as_deref() == Some("true");
        let disable_starttls = query("disable_starttls").as_deref() == Some("true");
        let server_name = query("server_name")
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| host.clone());
        let mut tls_params = TlsParameters::builder(server_name)
            .dangerous_accept_invalid_certs(skip_verify)
            .dangerous_accept_invalid_hostnames(skip_verify);
        if let Some(identity) = client_identity(c)? {
            tls_params = tls_params.identify_with(identity);
        }
        let tls_params = tls_params
            .build()
            .map_err(|e| format!("courier.smtp.connection_uri: TLS: {e}"))?;
        let (tls, default_port) = match url.scheme() {
            "smtps" => (Tls::Wrapper(tls_params), 465),
            "smtp" if disable_starttls => (Tls::None, 25),
            // Never Tls::Opportunistic: a server (or anyone in between) that leaves STARTTLS out
            // would get the message in plaintext.
            "smtp" => (Tls::Required(tls_params), 25),
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

    /// Deliver one message; the error names the cause (it may quote the recipient: the caller
    /// redacts it before logging).
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

/// The client certificate and key (`courier.smtp.client_cert_path`, `client_key_path`), both or
/// neither.
fn client_identity(c: &CourierConfig) -> Result<Option<Identity>, String> {
    let (cert_path, key_path) = match (&c.client_cert_path, &c.client_key_path) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) => {
            return Err("courier.smtp.client_cert_path is set but client_key_path is not".into())
        }
        (None, Some(_)) => {
            return Err("courier.smtp.client_key_path is set but client_cert_path is not".into())
        }
    };
    let read = |key: &str, path: &str| {
        std::fs::read(path).map_err(|e| format!("courier.smtp.{key}: cannot read {path}: {e}"))
    };
    let cert_pem = read("client_cert_path", cert_path)?;
    let key_pem = read("client_key_path", key_path)?;
    // lettre's rustls identity takes the certificate as DER (and one certificate: the client's
    // own) and the key as PEM.
    let cert = CertificateDer::pem_slice_iter(&cert_pem)
        .next()
        .ok_or_else(|| {
            format!("courier.smtp.client_cert_path: {cert_path} holds no PEM certificate")
        })?
        .map_err(|e| format!("courier.smtp.client_cert_path: {cert_path}: {e}"))?;
    Identity::from_pem(cert.as_ref(), &key_pem)
        .map(Some)
        .map_err(|e| format!("courier.smtp.client_key_path: {key_path}: {e}"))
}
