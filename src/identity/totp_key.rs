//! TOTP keys (RFC 6238) as Kratos uses them: 20 random bytes, SHA1, 6 digits, 30-second steps,
//! one step of clock drift accepted either way; the key travels as an `otpauth://` URL (what
//! authenticator apps scan, and what the identity's `totp` credential stores). The code maths is
//! the `totp-rs` crate's; the QR image is drawn by `qrcode` and encoded by `png`.

use base64::Engine;
use chrono::{DateTime, Utc};
use data_encoding::BASE32_NOPAD;
use totp_rs::{Algorithm, TOTP};

const DIGITS: usize = 6;
const STEP: u64 = 30;
const SKEW: u8 = 1;
const SECRET_BYTES: usize = 20;

/// A new key for `account` under `issuer`, as its `otpauth://` URL.
pub fn new_url(issuer: &str, account: &str) -> String {
    use rand::RngCore;
    let mut secret = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    url_for(issuer, account, &BASE32_NOPAD.encode(&secret))
}

/// The `otpauth://` URL of a base32 secret, in the form Kratos writes it (query keys sorted).
pub fn url_for(issuer: &str, account: &str, secret: &str) -> String {
    let esc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
            .replace("%3A", ":")
            .replace("%40", "@")
            .replace("%2E", ".")
            .replace("%2D", "-")
            .replace("%5F", "_")
    };
    format!(
        "otpauth://totp/{}:{}?algorithm=SHA1&digits=6&issuer={}&period=30&secret={secret}",
        esc(issuer),
        esc(account),
        esc(issuer)
    )
}

/// The base32 secret of an `otpauth://` URL (only the secret counts: the algorithm, digits and
/// period are always SHA1, 6 and 30, as Kratos checks them).
pub fn secret_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.to_ascii_uppercase())
        .filter(|s| !s.is_empty())
}

fn totp(url: &str) -> Option<TOTP> {
    let secret = secret_of(url)?;
    let bytes = BASE32_NOPAD
        .decode(secret.trim_end_matches('=').as_bytes())
        .ok()?;
    Some(TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        SKEW,
        STEP,
        bytes,
    ))
}

/// Whether `code` (surrounding blanks ignored) is the key's code at `now`, a step before or a
/// step after. Compared in constant time by `totp-rs`.
pub fn verify(url: &str, code: &str, now: DateTime<Utc>) -> bool {
    let code = code.trim();
    if code.len() != DIGITS {
        return false;
    }
    // (`totp-rs` counts the earliest step as `now / 30 - 1`: no instant before the second step.)
    match (totp(url), u64::try_from(now.timestamp())) {
        (Some(t), Ok(at)) if at >= STEP => t.check(code, at),
        _ => false,
    }
}

/// The key's code at `now` (for tests and tools).
pub fn code_at(url: &str, now: DateTime<Utc>) -> Option<String> {
    Some(totp(url)?.generate(u64::try_from(now.timestamp()).ok()?))
}

/// A 256×256 PNG of the URL's QR code (error correction M), as a `data:` URI.
pub fn qr_data_uri(url: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let quiet = 4;
    let modules = width + 2 * quiet;
    let scale = (256 / modules).max(1);
    let side = 256u32;
    let offset = (side as usize - modules * scale) / 2;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; (side * side) as usize];
    for y in 0..width {
        for x in 0..width {
            if colors[y * width + x] == qrcode::Color::Dark {
                for dy in 0..scale {
                    for dx in 0..scale {
                        let px = offset + (x + quiet) * scale + dx;
                        let py = offset + (y + quiet) * scale + dy;
                        pixels[py * side as usize + px] = 0;
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side, side);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().ok()?;
        w.write_image_data(&pixels).ok()?;
        w.finish().ok()?;
    }
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    // RFC 6238 appendix B, SHA1 key "12345678901234567890", truncated to 6 digits.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc_6238_vectors() {
        let url = url_for("example.org", "a@example.org", RFC_SECRET);
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            let at = Utc.timestamp_opt(t, 0).unwrap();
            assert_eq!(code_at(&url, at).unwrap(), code, "at {t}");
            assert!(verify(&url, code, at));
        }
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let url = new_url("example.org", "a@example.org");
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let step = chrono::Duration::seconds(30);
        let code = code_at(&url, now).unwrap();
        assert!(verify(&url, &format!(" {code} "), now));
        assert!(verify(&url, &code, now + step));
        assert!(verify(&url, &code, now - step));
        assert!(!verify(&url, &code, now + step * 2));
        assert!(!verify(&url, &code, now - step * 2));
        assert!(!verify(&url, "12345", now));
        assert!(!verify(&url, "1234567", now));
    }

    #[test]
    fn urls_read_as_kratos_writes_them() {
        let url = url_for("example.org", "a@example.org", RFC_SECRET);
        assert_eq!(
            url,
            "otpauth://totp/example.org:a@example.org?algorithm=SHA1&digits=6&issuer=example.org&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert_eq!(secret_of(&url).as_deref(), Some(RFC_SECRET));
        let fresh = new_url("Acme Inc", "x");
        assert!(fresh.starts_with("otpauth://totp/Acme%20Inc:x?"), "{fresh}");
        assert_eq!(secret_of(&fresh).unwrap().len(), 32);
        assert!(secret_of("otpauth://totp/x?issuer=y").is_none());
    }

    #[test]
    fn the_qr_image_is_a_png() {
        let uri = qr_data_uri(&new_url("example.org", "a@example.org")).unwrap();
        let b64 = uri.strip_prefix("data:image/png;base64,").unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}
