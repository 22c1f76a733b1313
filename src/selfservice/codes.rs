//! One-time codes (6 digits) and link tokens for recovery and verification. Codes are stored as an
//! HMAC keyed with the server secret over flow id and code, so a stolen table does not let anyone
//! brute-force a code offline; link tokens (≥ 190 bits) as plain SHA-256. Both compare by digest
//! lookup, never by string comparison of secrets.

use crate::error::{Error, Result};
use crate::persistence::code::StoredCode;
use crate::registry::Registry;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use uuid::Uuid;

/// Code submissions a flow takes; after that its codes are void (Kratos allows 5).
pub const MAX_ATTEMPTS: i64 = 5;

/// What a submitted code or link token came to.
pub enum Checked {
    /// A valid, unused, unexpired code, now marked used (by this request only).
    Valid(StoredCode),
    /// Wrong, expired or already used.
    Invalid,
}

/// 400: the flow took its five code submissions; its codes are void.
pub fn submitted_too_often() -> Error {
    Error::bad_request("The request was submitted too often. Please request another code.")
}

/// Check a code (`is_link_token` false: counted against the flow's five submissions) or a link
/// token of `kind` on flow `flow_id`. Every count happens before the comparison, each in one atomic
/// statement: the client address first (429), then the flow (400 once it has had five; its codes
/// are then void). A valid code is marked used in the same step that finds it valid, so two
/// requests never both succeed.
pub async fn consume(
    r: &Registry,
    client: Option<&str>,
    flow_id: Uuid,
    kind: &str,
    digest: &str,
    is_link_token: bool,
) -> Result<Checked> {
    let now = r.clock.now();
    super::rate_limit::code_attempt(r, client).await?;
    if !is_link_token
        && !r
            .persister
            .count_code_submission(flow_id, MAX_ATTEMPTS)
            .await?
    {
        r.persister.invalidate_flow_codes(flow_id, now).await?;
        return Err(submitted_too_often());
    }
    let found = r
        .persister
        .find_code(kind, digest, Some(flow_id), now)
        .await?
        .filter(|c| !c.used && !c.expired);
    match found {
        Some(code) if r.persister.use_code(code.id, now).await? => {
            super::rate_limit::code_succeeded(r, client).await?;
            Ok(Checked::Valid(code))
        }
        _ => Ok(Checked::Invalid),
    }
}

pub fn new_code() -> String {
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    format!("{n:06}")
}

pub fn code_digest(r: &Registry, flow_id: Uuid, code: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&r.cookie_secrets[0]).expect("HMAC takes any key length");
    mac.update(flow_id.as_bytes());
    mac.update(code.trim().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn new_link_token() -> String {
    crate::session::token::generate("")
}

pub fn link_digest(token: &str) -> String {
    crate::session::token::digest(token)
}

/// `selfservice.methods.<method>.config.lifespan`, defaulting as Kratos does (code 15m, link 1h).
pub fn lifespan(r: &Registry, method: &str) -> chrono::Duration {
    let (cfg, default) = match method {
        "link" => (
            &r.config.selfservice.methods.link.config,
            chrono::Duration::hours(1),
        ),
        _ => (
            &r.config.selfservice.methods.code.config,
            chrono::Duration::minutes(15),
        ),
    };
    cfg.get("lifespan")
        .and_then(|v| v.as_str())
        .and_then(crate::time::parse_duration)
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = super::new_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|c| c.is_ascii_digit()));
        }
    }
}
