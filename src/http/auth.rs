//! Finding the caller's session in a request: `X-Session-Token` first, then the session cookie,
//! then `Authorization: Bearer` (scheme matched case-insensitively), as Kratos orders them.

use super::session_cookie;
use crate::error::Result;
use crate::registry::Registry;
use crate::session::cache::Cached;
use crate::session::Session;
use axum::http::HeaderMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Via {
    Header,
    /// The session cookie, carrying the expiry it was issued for (microseconds).
    Cookie(i64),
    Bearer,
}

pub struct Authenticated {
    pub session: Session,
    pub token: String,
    pub via: Via,
}

/// The credential a request presents, without looking it up.
pub fn credential(r: &Registry, headers: &HeaderMap) -> Option<(String, Via)> {
    if let Some(t) = headers
        .get("x-session-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Some((t.to_string(), Via::Header));
    }
    if let Some(c) = session_cookie::from_request(r, headers) {
        return Some((c.token, Via::Cookie(c.expires_at_micros)));
    }
    bearer(headers).map(|t| (t, Via::Bearer))
}

/// `Authorization: Bearer <token>`: exactly two space-separated parts, scheme in any case.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let parts: Vec<&str> = value.split(' ').collect();
    if parts.len() != 2 || !parts[0].eq_ignore_ascii_case("bearer") || parts[1].is_empty() {
        return None;
    }
    Some(parts[1].to_string())
}

/// The caller's active session, or None.
pub async fn authenticate(r: &Registry, headers: &HeaderMap) -> Result<Option<Authenticated>> {
    Ok(authenticate_shared(r, headers)
        .await?
        .map(|(found, token, via)| Authenticated {
            session: found.session.clone(),
            token,
            via,
        }))
}

/// As [`authenticate`], without copying the session out of the cache.
pub async fn authenticate_shared(
    r: &Registry,
    headers: &HeaderMap,
) -> Result<Option<(Arc<Cached>, String, Via)>> {
    let Some((token, via)) = credential(r, headers) else {
        return Ok(None);
    };
    Ok(r.sessions()
        .resolve(&token)
        .await?
        .map(|found| (found, token, via)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("bEaReR abc"));
        assert_eq!(bearer(&h).as_deref(), Some("abc"));
        h.insert("authorization", HeaderValue::from_static("Bearer  abc"));
        assert_eq!(bearer(&h), None);
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert("authorization", HeaderValue::from_static("Bearer"));
        assert_eq!(bearer(&h), None);
    }
}
