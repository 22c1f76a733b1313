//! Request extractors: JSON bodies with Kratos-shaped errors, the client's address and user agent,
//! and path UUIDs.

use crate::error::{ApiError, Error};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use uuid::Uuid;

/// `Json<T>` whose failures answer the Kratos error JSON (400, or 413 for an oversize body).
pub struct KJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for KJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(KJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

pub fn json_rejection(r: JsonRejection) -> Error {
    match r {
        JsonRejection::BytesRejection(b)
            if b.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::new(413)
                .with_reason("The request body exceeds the maximum allowed size of 5 MiB.")
                .into()
        }
        JsonRejection::BytesRejection(b) if is_timeout(b.status(), &b.body_text()) => {
            ApiError::new(408)
                .with_reason("The request body was not received in time.")
                .into()
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(400)
            .with_reason("The request must carry Content-Type: application/json.")
            .into(),
        other => ApiError::new(400)
            .with_reason(format!(
                "Unable to decode the JSON body: {}",
                other.body_text()
            ))
            .into(),
    }
}

/// The raw request body, with Kratos-shaped errors for a body over 5 MiB (413), a client too slow to
/// send it (408) or a broken stream (400).
pub struct KBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for KBytes {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(KBytes(b)),
            Err(r) => Err(match r.status().as_u16() {
                413 => ApiError::new(413)
                    .with_reason("The request body exceeds the maximum allowed size of 5 MiB."),
                _ if is_timeout(r.status(), &r.body_text()) => {
                    ApiError::new(408).with_reason("The request body was not received in time.")
                }
                _ => ApiError::new(400).with_reason(format!(
                    "Unable to read the request body: {}",
                    r.body_text()
                )),
            }
            .into()),
        }
    }
}

/// Whether a body-buffering failure was the body read timeout (axum reports it as a generic
/// buffering error carrying the timeout's message).
fn is_timeout(status: axum::http::StatusCode, text: &str) -> bool {
    status == axum::http::StatusCode::REQUEST_TIMEOUT || text.contains("timeout")
}

/// Parse a UUID from a path segment the way Kratos reports a bad one (400).
/// A UUID from a path or query, as whatever id type the caller needs.
pub fn parse_uuid<T: From<Uuid>>(s: &str) -> Result<T, Error> {
    Uuid::parse_str(s).map(T::from).map_err(Error::bad_uuid)
}

/// Where a request came from, for session devices.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The socket peer's address (what a rate limit may trust).
    pub peer: Option<std::net::IpAddr>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub location: Option<String>,
}

impl ClientInfo {
    /// No client information (requests whose device is not recorded).
    pub fn none() -> ClientInfo {
        ClientInfo {
            peer: None,
            ip: None,
            user_agent: None,
            location: None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let socket = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let mut info = client_info(&parts.headers, socket.map(|s| s.to_string()));
        info.peer = socket.map(|s| s.ip());
        Ok(info)
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Kratos's order: True-Client-IP, Cf-Connecting-IP, X-Real-IP, the right-most public address in
/// X-Forwarded-For, else the socket address (with its port).
pub fn client_info(h: &HeaderMap, remote: Option<String>) -> ClientInfo {
    let forwarded = header(h, "x-forwarded-for").map(|xff| {
        xff.split(',')
            .map(str::trim)
            .rev()
            .find(|a| {
                a.parse::<std::net::IpAddr>()
                    .map(|ip| !is_private(&ip))
                    .unwrap_or(false)
            })
            .unwrap_or("")
            .to_string()
    });
    let ip = header(h, "true-client-ip")
        .or_else(|| header(h, "cf-connecting-ip"))
        .or_else(|| header(h, "x-real-ip"))
        .map(str::to_string)
        .or(forwarded)
        .or(remote);
    let user_agent = {
        let all: Vec<&str> = h
            .get_all("user-agent")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!all.is_empty()).then(|| truncate(&all.join(" "), 512))
    };
    let location = match (header(h, "cf-ipcity"), header(h, "cf-ipcountry")) {
        (Some(city), Some(country)) => Some(truncate(&format!("{city}, {country}"), 512)),
        _ => None,
    };
    ClientInfo {
        peer: None,
        ip,
        user_agent,
        location,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn is_private(ip: &std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified()
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00
        }
    }
}

/// Kratos's "is this a JSON request?": `Content-Type: application/json`, or the `Accept` header
/// negotiates to `application/json` among the offers `text/html, text/*, */*, application/json`:
/// highest q wins; at equal q an exact match beats `type/*`, which beats `*/*`; then the earlier
/// offer wins; no `Accept` means `text/html`.
pub fn is_json_request(h: &HeaderMap) -> bool {
    if header(h, "content-type")
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false)
    {
        return true;
    }
    let Some(accept) = header(h, "accept") else {
        return false;
    };
    let specs: Vec<(String, f32)> = accept
        .split(',')
        .map(|part| {
            let mut pieces = part.split(';');
            let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            (media, q)
        })
        .filter(|(m, _)| !m.is_empty())
        .collect();
    let offers = ["text/html", "text/*", "*/*", "application/json"];
    let mut best = "text/html";
    let mut best_q = -1.0f32;
    let mut best_wild = 3;
    for offer in offers {
        for (spec, q) in &specs {
            let q = *q;
            if q == 0.0 || q < best_q {
                continue;
            }
            if spec == "*/*" {
                if q > best_q || best_wild > 2 {
                    (best, best_q, best_wild) = (offer, q, 2);
                }
            } else if let Some(prefix) = spec.strip_suffix('*') {
                if offer.starts_with(prefix) && (q > best_q || best_wild > 1) {
                    (best, best_q, best_wild) = (offer, q, 1);
                }
            } else if spec == offer && (q > best_q || best_wild > 0) {
                (best, best_q, best_wild) = (offer, q, 0);
            }
        }
    }
    best == "application/json"
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn json_negotiation() {
        assert!(is_json_request(&h(&[("accept", "application/json")])));
        assert!(is_json_request(&h(&[("content-type", "application/json")])));
        assert!(!is_json_request(&h(&[("accept", "*/*")])));
        assert!(!is_json_request(&h(&[(
            "accept",
            "text/html,application/json"
        )])));
        assert!(is_json_request(&h(&[(
            "accept",
            "text/html;q=0.5, application/json"
        )])));
        assert!(!is_json_request(&h(&[])));
        // axios (inside the Ory SDKs) sends this by default.
        assert!(is_json_request(&h(&[(
            "accept",
            "application/json, text/plain, */*"
        )])));
        assert!(is_json_request(&h(&[("accept", "application/*")])));
        assert!(!is_json_request(&h(&[(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )])));
    }

    #[test]
    fn client_address_order() {
        let info = client_info(
            &h(&[("x-forwarded-for", "203.0.113.9, 10.0.0.1")]),
            Some("127.0.0.1:5".into()),
        );
        assert_eq!(info.ip.as_deref(), Some("203.0.113.9"));
        let info = client_info(&h(&[("x-real-ip", "198.51.100.1")]), None);
        assert_eq!(info.ip.as_deref(), Some("198.51.100.1"));
        let info = client_info(&h(&[]), Some("127.0.0.1:5".into()));
        assert_eq!(info.ip.as_deref(), Some("127.0.0.1:5"));
        let info = client_info(&h(&[("user-agent", "a"), ("user-agent", "b")]), None);
        assert_eq!(info.user_agent.as_deref(), Some("a b"));
    }
}
