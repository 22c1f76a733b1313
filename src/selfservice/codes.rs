//! One-time codes (6 digits) and link tokens for recovery and verification. Codes are stored as an
//! HMAC keyed with the server secret over flow id and code, so a stolen table does not let anyone
//! brute-force a code offline; link tokens (≥ 190 bits) as plain SHA-256. Both compare by digest
//! lookup, never by string comparison of secrets.

use crate::registry::Registry;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use uuid::Uuid;

/// Wrong submissions a flow tolerates before its codes are void (Kratos allows 5).
pub const MAX_ATTEMPTS: u32 = 5;

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
