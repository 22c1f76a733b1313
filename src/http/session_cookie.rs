//! The session cookie: value signed with `secrets.cookie` (first signs, all verify), attributes from
//! `session.cookie.*` falling back to `cookies.*`, and the anti-CSRF cookie of browser flows.

use crate::registry::Registry;
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use chrono::{DateTime, Utc};
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What a valid session cookie carries.
pub struct CookieSession {
    pub token: String,
    /// The expiry the cookie was issued for (to re-issue it when the session's expiry moved).
    pub expires_at_micros: i64,
}

/// `payload.signature`, payload = base64url(JSON {t, e, n}), signature = HMAC-SHA256 over payload.
pub fn encode(r: &Registry, token: &str, expires_at: DateTime<Utc>) -> String {
    let nonce = crate::session::token::generate("");
    let payload =
        serde_json::json!({"t": token, "e": expires_at.timestamp_micros(), "n": &nonce[..8]});
    let payload = B64.encode(payload.to_string());
    let mut mac =
        HmacSha256::new_from_slice(&r.cookie_secrets[0]).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    format!("{payload}.{}", B64.encode(mac.finalize().into_bytes()))
}

pub fn decode(r: &Registry, value: &str) -> Option<CookieSession> {
    let (payload, sig) = value.split_once('.')?;
    let sig = B64.decode(sig).ok()?;
    // verify_slice compares in constant time.
    let valid = r.cookie_secrets.iter().any(|secret| {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).is_ok()
    });
    if !valid {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    Some(CookieSession {
        token: v.get("t")?.as_str()?.to_string(),
        expires_at_micros: v.get("e")?.as_i64()?,
    })
}

fn same_site(v: Option<&str>) -> SameSite {
    match v.map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("strict") => SameSite::Strict,
        Some("none") => SameSite::None,
        _ => SameSite::Lax,
    }
}

/// Read one cookie's value from the request.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// The session cookie from the request, if present and correctly signed.
pub fn from_request(r: &Registry, headers: &HeaderMap) -> Option<CookieSession> {
    read(headers, &r.config.session.cookie.name).and_then(|v| decode(r, v))
}

fn session_cookie_base(r: &Registry, value: String) -> Cookie<'static> {
    let c = &r.config;
    let sc = &c.session.cookie;
    let mut cookie = Cookie::new(sc.name.clone(), value);
    cookie.set_http_only(true);
    cookie.set_path(
        sc.path
            .clone()
            .or_else(|| c.cookies.path.clone())
            .unwrap_or_else(|| "/".into()),
    );
    if let Some(d) = sc
        .domain
        .clone()
        .or_else(|| c.cookies.domain.clone())
        .filter(|d| !d.is_empty())
    {
        cookie.set_domain(d);
    }
    let secure = sc.secure.unwrap_or(!c.dev);
    cookie.set_secure(secure);
    let ss = same_site(sc.same_site.as_deref().or(c.cookies.same_site.as_deref()));
    // Browsers drop SameSite=None cookies that are not Secure; fall back to Lax like Kratos.
    cookie.set_same_site(if ss == SameSite::None && !secure {
        SameSite::Lax
    } else {
        ss
    });
    cookie
}

/// `Set-Cookie` for a session, persistent until the session expires unless configured otherwise.
pub fn issue(
    r: &Registry,
    token: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> HeaderValue {
    let mut cookie = session_cookie_base(r, encode(r, token, expires_at));
    if r.config.session.cookie.persistent {
        let secs = (expires_at - now).num_seconds().max(0);
        cookie.set_max_age(cookie::time::Duration::seconds(secs));
    }
    HeaderValue::from_str(&cookie.to_string()).expect("cookie is a valid header")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(r: &Registry) -> HeaderValue {
    let mut cookie = session_cookie_base(r, String::new());
    cookie.set_max_age(cookie::time::Duration::seconds(-1));
    cookie.set_expires(cookie::time::OffsetDateTime::UNIX_EPOCH);
    HeaderValue::from_str(&cookie.to_string()).expect("cookie is a valid header")
}

/// The anti-CSRF cookie's name: `csrf_token_` + hex SHA-256 of the public base URL (with its
/// trailing slash, as Kratos hashes it).
pub fn csrf_cookie_name(r: &Registry) -> String {
    format!(
        "csrf_token_{}",
        hex::encode(Sha256::digest(format!("{}/", r.public_base).as_bytes()))
    )
}

/// `Set-Cookie` for the anti-CSRF secret (base64 of 32 random bytes), valid for a year.
pub fn csrf_cookie(r: &Registry, secret_b64: &str) -> HeaderValue {
    let c = &r.config;
    let mut cookie = Cookie::new(csrf_cookie_name(r), secret_b64.to_string());
    cookie.set_http_only(true);
    cookie.set_path(c.cookies.path.clone().unwrap_or_else(|| "/".into()));
    if let Some(d) = c.cookies.domain.clone().filter(|d| !d.is_empty()) {
        cookie.set_domain(d);
    }
    let secure = c.cookies.secure.unwrap_or(!c.dev);
    cookie.set_secure(secure);
    let ss = same_site(c.cookies.same_site.as_deref());
    cookie.set_same_site(if !secure && ss == SameSite::None {
        SameSite::Lax
    } else {
        ss
    });
    cookie.set_max_age(cookie::time::Duration::days(365));
    HeaderValue::from_str(&cookie.to_string()).expect("cookie is a valid header")
}
