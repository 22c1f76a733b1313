//! Brute-force protection (Kratos has none built in). Every attempt is counted *before* its
//! password or code is compared, with one atomic upsert, so a parallel burst cannot outrun a limit;
//! counters live in the database so every node sees the same counts, in fixed windows.
//!
//! - Password login: a hard limit (429 with `Retry-After`) per client address and per
//!   (identifier, client address); per identifier alone a growing delay, never a lockout, so a
//!   stranger cannot lock someone out of their account. A success clears the identifier's counts.
//! - Codes and links: submissions per client address (429); codes sent per client address and per
//!   recipient (429). The per-flow limit of five code submissions is the flow's own counter.
//!
//! IPv6 clients are counted per /64, the smallest block a subscriber usually controls.

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

fn digest(s: &str) -> String {
    hex::encode(Sha256::digest(s.trim().to_lowercase().as_bytes()))
}

/// The key under which a client address is counted: IPv4 as it is, IPv6 by its /64 (an
/// IPv4-mapped IPv6 address as the IPv4 address it carries).
pub fn address_key(client: &str) -> String {
    match client.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => client.to_string(),
    }
}

/// Count one event under `key`; 429 when that makes it more than `limit` in the window.
async fn count(r: &Registry, key: &str, limit: i64) -> Result<()> {
    let (n, start) = r
        .persister
        .rate_hit(key, r.config.ostiary.rate_limit.window.0, r.clock.now())
        .await?;
    if n > limit {
        return Err(too_many(r, start));
    }
    Ok(())
}

/// How long the `n`-th attempt on one identifier waits: nothing up to `free` attempts, then
/// `first`, doubling with each attempt, never more than `max`.
pub fn login_delay(
    n: i64,
    free: i64,
    first: std::time::Duration,
    max: std::time::Duration,
) -> std::time::Duration {
    if n <= free {
        return std::time::Duration::ZERO;
    }
    let doublings = u32::try_from((n - free - 1).min(30)).unwrap_or(30);
    first.saturating_mul(1u32 << doublings).min(max)
}

/// Count a login attempt before its password is checked: 429 over a hard limit, else wait out
/// the identifier's delay (if any).
pub async fn login_attempt(r: &Registry, client: Option<&str>, identifier: &str) -> Result<()> {
    let c = &r.config.ostiary.rate_limit;
    if !c.enabled {
        return Ok(());
    }
    let id = digest(identifier);
    if let Some(ip) = client.map(address_key) {
        count(r, &format!("login:ip:{ip}"), c.login_per_address).await?;
        count(
            r,
            &format!("login:pair:{id}:{ip}"),
            c.login_per_identifier_and_address,
        )
        .await?;
    }
    let (n, _) = r
        .persister
        .rate_hit(&format!("login:id:{id}"), c.window.0, r.clock.now())
        .await?;
    let wait = login_delay(
        n,
        c.login_per_identifier,
        c.login_delay.0.to_std().unwrap_or_default(),
        c.login_delay_max.0.to_std().unwrap_or_default(),
    );
    if !wait.is_zero() {
        tracing::debug!(attempts = n, ?wait, "login attempt delayed");
        tokio::time::sleep(wait).await;
    }
    Ok(())
}

/// A successful login: the identifier's counts are cleared and the attempt no longer counts
/// against the client address.
pub async fn login_succeeded(r: &Registry, client: Option<&str>, identifier: &str) -> Result<()> {
    if !r.config.ostiary.rate_limit.enabled {
        return Ok(());
    }
    let id = digest(identifier);
    r.persister.rate_reset(&format!("login:id:{id}")).await?;
    if let Some(ip) = client.map(address_key) {
        r.persister
            .rate_reset(&format!("login:pair:{id}:{ip}"))
            .await?;
        r.persister.rate_release(&format!("login:ip:{ip}")).await?;
    }
    Ok(())
}

/// Count a code or link submission before it is compared (429 over the address's limit).
pub async fn code_attempt(r: &Registry, client: Option<&str>) -> Result<()> {
    let c = &r.config.ostiary.rate_limit;
    match (c.enabled, client.map(address_key)) {
        (true, Some(ip)) => count(r, &format!("code:ip:{ip}"), c.code_per_address).await,
        _ => Ok(()),
    }
}

/// A code or link that worked no longer counts against the client address.
pub async fn code_succeeded(r: &Registry, client: Option<&str>) -> Result<()> {
    match (r.config.ostiary.rate_limit.enabled, client.map(address_key)) {
        (true, Some(ip)) => r.persister.rate_release(&format!("code:ip:{ip}")).await,
        _ => Ok(()),
    }
}

/// Count a second-factor code (an authenticator app's, a backup code) before it is compared:
/// against the client address's code limit and the same limit per identity, so that neither
/// many addresses nor one can try codes faster (429 over either).
pub async fn second_factor_attempt(
    r: &Registry,
    client: Option<&str>,
    identity: crate::ids::IdentityId,
) -> Result<()> {
    code_attempt(r, client).await?;
    let c = &r.config.ostiary.rate_limit;
    if !c.enabled {
        return Ok(());
    }
    count(r, &format!("2fa:id:{identity}"), c.code_per_address).await
}

/// A second factor that worked no longer counts against the address or the identity.
pub async fn second_factor_succeeded(
    r: &Registry,
    client: Option<&str>,
    identity: crate::ids::IdentityId,
) -> Result<()> {
    code_succeeded(r, client).await?;
    if !r.config.ostiary.rate_limit.enabled {
        return Ok(());
    }
    r.persister
        .rate_release(&format!("2fa:id:{identity}"))
        .await
}

/// Count a code or link about to be sent (429 over the client address's or the recipient's limit).
pub async fn code_send(r: &Registry, client: Option<&str>, recipient: &str) -> Result<()> {
    let c = &r.config.ostiary.rate_limit;
    if !c.enabled {
        return Ok(());
    }
    if let Some(ip) = client.map(address_key) {
        count(r, &format!("send:ip:{ip}"), c.code_sends_per_address).await?;
    }
    count(
        r,
        &format!("send:to:{}", digest(recipient)),
        c.code_sends_per_recipient,
    )
    .await
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
    fn ipv6_clients_count_per_64() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:ffff:1:2:3")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(address_key("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn the_login_delay_grows_and_is_capped() {
        let ms = std::time::Duration::from_millis;
        let d = |n| login_delay(n, 10, ms(500), ms(20_000));
        assert_eq!(d(1), ms(0));
        assert_eq!(d(10), ms(0));
        assert_eq!(d(11), ms(500));
        assert_eq!(d(12), ms(1000));
        assert_eq!(d(13), ms(2000));
        assert_eq!(d(16), ms(16_000));
        assert_eq!(d(17), ms(20_000));
        assert_eq!(d(i64::MAX), ms(20_000));
    }

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
