//! Anti-CSRF tokens for browser flows (double submit): a 32-byte secret lives in an HttpOnly
//! cookie; forms carry it masked with a fresh one-time pad (so the token differs on every render,
//! defeating BREACH-style compression attacks) and the server unmasks and compares in constant time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;

use super::flow::{Flow, FlowType};
use super::request::FlowRequest;
use crate::error::{Error, Result};

pub const SECRET_LEN: usize = 32;

/// A new secret, base64 (the cookie value).
pub fn new_secret() -> String {
    let mut b = [0u8; SECRET_LEN];
    rand::rngs::OsRng.fill_bytes(&mut b);
    STANDARD.encode(b)
}

/// The cookie value decoded, if it is a well-formed secret.
pub fn decode_secret(cookie: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(cookie)
        .ok()
        .filter(|b| b.len() == SECRET_LEN)
}

/// The masked form put into forms: base64(pad ‖ pad XOR secret).
pub fn mask(secret: &[u8]) -> String {
    let mut pad = [0u8; SECRET_LEN];
    rand::rngs::OsRng.fill_bytes(&mut pad);
    let mut out = pad.to_vec();
    out.extend(pad.iter().zip(secret).map(|(p, s)| p ^ s));
    STANDARD.encode(out)
}

/// Whether a submitted token (masked 64-byte or raw 32-byte form) matches the cookie's secret.
pub fn verify(submitted: &str, secret: &[u8]) -> bool {
    let Ok(raw) = STANDARD.decode(submitted.trim()) else {
        return false;
    };
    let candidate: Vec<u8> = match raw.len() {
        n if n == 2 * SECRET_LEN => raw[..SECRET_LEN]
            .iter()
            .zip(&raw[SECRET_LEN..])
            .map(|(p, m)| p ^ m)
            .collect(),
        SECRET_LEN => raw,
        _ => return false,
    };
    candidate.len() == secret.len() && bool::from(candidate.ct_eq(secret))
}

/// Check the CSRF token of a browser flow submission (403 on mismatch).
pub fn ensure_csrf(f: &Flow, req: &FlowRequest, submitted: Option<&str>) -> Result<()> {
    if f.flow_type != FlowType::Browser || f.skip_csrf {
        return Ok(());
    }
    let Some(secret) = &req.csrf_secret else {
        return Err(Error::csrf_violation(
            "The anti-CSRF cookie was not sent with the request.",
        ));
    };
    let token = submitted
        .or(req.csrf_header.as_deref())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(Error::csrf_violation(
            "The anti-CSRF token was not sent with the request.",
        ));
    };
    if !verify(token, secret) {
        return Err(Error::csrf_violation(
            "The anti-CSRF token does not match the anti-CSRF cookie.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_tokens_verify_and_differ() {
        let secret_b64 = new_secret();
        let secret = decode_secret(&secret_b64).unwrap();
        let a = mask(&secret);
        let b = mask(&secret);
        assert_ne!(a, b);
        assert!(verify(&a, &secret));
        assert!(verify(&b, &secret));
        assert!(verify(&secret_b64, &secret));
    }

    #[test]
    fn wrong_or_malformed_tokens_fail() {
        let secret = decode_secret(&new_secret()).unwrap();
        let other = decode_secret(&new_secret()).unwrap();
        assert!(!verify(&mask(&other), &secret));
        assert!(!verify("", &secret));
        assert!(!verify("not base64!!", &secret));
        assert!(!verify(&STANDARD.encode([1u8; 10]), &secret));
        assert!(decode_secret("short").is_none());
    }
}
