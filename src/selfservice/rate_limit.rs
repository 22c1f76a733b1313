//! Brute-force protection (Kratos has none built in): failed password logins are counted per
//! identifier and per client address, failed code submissions per client address, in fixed windows
//! stored in the database so every node sees the same counts. Over the limit, the answer is 429 with
//! `Retry-After`, before any password is checked.

use crate::error::{id, ApiError, Error, Result};
use crate::registry::Registry;
use sha2::{Digest, Sha256};
use std::net::IpAddr;

fn too_many(r: &Registry, window_start_micros: i64) -> Error {
    let window = r.config.ostiary.rate_limit.window.0;
    let ends = crate::time::from_micros(window_start_micros) + window;
    let secs = (ends - r.clock.now()).num_seconds().max(1);
    ApiError::new(429)
        .with_id(id::RATE_LIMITED)
        .with_reason(format!(
            "Too many failed attempts. Please try again in {secs} seconds."
        ))
        .with_message("Too many requests")
        .with_detail("retry_after_seconds", secs)
        .with_header("retry-after", secs.to_string())
        .into()
}

fn identifier_key(identifier: &str) -> String {
    format!(
        "login:id:{}",
        hex::encode(Sha256::digest(identifier.trim().to_lowercase().as_bytes()))
    )
}

/// Refuse a login attempt when the identifier or the client address is over its limit.
pub async fn check_login(r: &Registry, client: Option<&str>, identifier: &str) -> Result<()> {
    let c = &r.config.ostiary.rate_limit;
    if !c.enabled {
        return Ok(());
    }
    let now = r.clock.now();
    let (n, start) = r
        .persister
        .rate_peek(&identifier_key(identifier), c.window.0, now)
        .await?;
    if n >= c.login_per_identifier {
        return Err(too_many(r, start));
    }
    if let Some(ip) = client {
        let (n, start) = r
            .persister
            .rate_peek(&format!("login:ip:{ip}"), c.window.0, now)
            .await?;
        if n >= c.login_per_address {
            return Err(too_many(r, start));
        }
    }
    Ok(())
}

/// Count a failed login.
pub async fn login_failed(r: &Registry, client: Option<&str>, identifier: &str) -> Result<()> {
    let c = &r.config.ostiary.rate_limit;
    if !c.enabled {
        return Ok(());
    }
    let now = r.clock.now();
    r.persister
        .rate_hit(&identifier_key(identifier), c.window.0, now)
        .await?;
    if let Some(ip) = client {
        r.persister
            .rate_hit(&format!("login:ip:{ip}"), c.window.0, now)
            .await?;
    }
    Ok(())
}

/// A successful login clears the identifier's failures.
pub async fn login_succeeded(r: &Registry, identifier: &str) -> Result<()> {
    if r.config.ostiary.rate_limit.enabled {
        r.persister.rate_reset(&identifier_key(identifier)).await?;
    }
    Ok(())
}

/// Refuse a code submission when the client address is over its limit.
pub async fn check_code(r: &Registry, client: Option<&str>) -> Result<()> {
    let c = &r.config.ostiary.rate_limit;
    let (true, Some(ip)) = (c.enabled, client) else {
        return Ok(());
    };
    let (n, start) = r
        .persister
        .rate_peek(&format!("code:ip:{ip}"), c.window.0, r.clock.now())
        .await?;
    if n >= c.code_per_address {
        return Err(too_many(r, start));
    }
    Ok(())
}

/// Count a failed code submission.
pub async fn code_failed(r: &Registry, client: Option<&str>) -> Result<()> {
    let c = &r.config.ostiary.rate_limit;
    if let (true, Some(ip)) = (c.enabled, client) {
        r.persister
            .rate_hit(&format!("code:ip:{ip}"), c.window.0, r.clock.now())
            .await?;
    }
    Ok(())
}

/// The client address for rate limiting: the socket peer, unless the peer is a trusted proxy, then
/// the address the proxy forwarded.
pub fn client_address(
    trusted: &[String],
    peer: Option<IpAddr>,
    forwarded: Option<&str>,
) -> Option<String> {
    let peer = peer?;
    if trusted.iter().any(|t| in_range(t, peer)) {
        let forwarded = forwarded.map(str::trim).unwrap_or("");
        let parsed = forwarded.parse::<IpAddr>().ok().or_else(|| {
            forwarded
                .parse::<std::net::SocketAddr>()
                .ok()
                .map(|s| s.ip())
        });
        if let Some(ip) = parsed {
            return Some(ip.to_string());
        }
    }
    Some(peer.to_string())
}

/// Whether `ip` is `range` (an address) or inside it (a CIDR such as `10.0.0.0/8`).
pub fn in_range(range: &str, ip: IpAddr) -> bool {
    let (base, bits) = match range.split_once('/') {
        Some((b, n)) => (b, n.parse::<u32>().ok()),
        None => (range, None),
    };
    let Ok(base) = base.trim().parse::<IpAddr>() else {
        return false;
    };
    match (base, ip) {
        (IpAddr::V4(b), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(b) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(b), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(b) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_range("10.0.0.0/8", ip("10.1.2.3")));
        assert!(!in_range("10.0.0.0/8", ip("11.0.0.1")));
        assert!(in_range("127.0.0.1", ip("127.0.0.1")));
        assert!(in_range("::1", ip("::1")));
        assert!(in_range("fd00::/8", ip("fd12::1")));
        assert!(!in_range("garbage", ip("1.2.3.4")));
    }

    #[test]
    fn forwarded_address_only_from_trusted_proxies() {
        let peer = Some("10.0.0.5".parse().unwrap());
        let trusted = vec!["10.0.0.0/8".to_string()];
        assert_eq!(
            client_address(&trusted, peer, Some("203.0.113.7")).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client_address(&[], peer, Some("203.0.113.7")).as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(
            client_address(&trusted, peer, Some("not an ip")).as_deref(),
            Some("10.0.0.5")
        );
    }
}
