//! bcrypt (`$2$`, `$2a$`, `$2b$`, `$2y$`, `$2z$`): parsing, verification and creation of new hashes.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;

use super::encoding::{ct_eq, decode_b64};
use super::error::{malformed, HashError};

/// bcrypt only looks at the first 72 bytes of a password.
pub(crate) const MAX_PASSWORD_LEN: usize = 72;
/// Smallest cost the bcrypt crate (and Go's bcrypt) accepts.
pub(crate) const MIN_COST: u32 = 4;
/// Largest cost the bcrypt crate (and Go's bcrypt) accepts.
pub(crate) const MAX_COST: u32 = 31;

const SALT_CHARS: usize = 22;
const DIGEST_CHARS: usize = 31;

/// bcrypt's own base64 alphabet; the last salt character may carry unused bits.
const SALT_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::BCRYPT,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

fn is_bcrypt_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'/'
}

/// A parsed bcrypt hash.
#[derive(Debug)]
pub(crate) struct BcryptHash<'a> {
    pub(crate) cost: u32,
    salt: [u8; 16],
    digest: &'a str,
}

/// True if `hash` carries one of the bcrypt version prefixes.
pub(crate) fn has_prefix(hash: &str) -> bool {
    ["$2$", "$2a$", "$2b$", "$2y$", "$2z$"]
        .iter()
        .any(|p| hash.starts_with(p))
}

/// Parses `$2<minor>$<cost>$<22 salt chars><31 digest chars>`.
pub(crate) fn parse(hash: &str) -> Result<BcryptHash<'_>, HashError> {
    let rest = hash
        .strip_prefix("$2$")
        .or_else(|| {
            ["$2a$", "$2b$", "$2y$", "$2z$"]
                .iter()
                .find_map(|p| hash.strip_prefix(p))
        })
        .ok_or_else(|| malformed("bcrypt: unsupported version"))?;
    let (cost, body) = rest
        .split_once('$')
        .ok_or_else(|| malformed("bcrypt: missing cost"))?;
    if cost.len() != 2 || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("bcrypt: cost must be two digits"));
    }
    let cost: u32 = cost
        .parse()
        .map_err(|_| malformed("bcrypt: cost must be two digits"))?;
    if !(MIN_COST..=MAX_COST).contains(&cost) {
        return Err(malformed("bcrypt: cost out of range"));
    }
    if body.len() != SALT_CHARS + DIGEST_CHARS || !body.bytes().all(is_bcrypt_char) {
        return Err(malformed(
            "bcrypt: salt and digest must be 53 bcrypt-base64 characters",
        ));
    }
    let (salt_text, digest) = body.split_at(SALT_CHARS);
    let salt: [u8; 16] = decode_b64(&SALT_ENGINE, salt_text)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| malformed("bcrypt: bad salt"))?;
    Ok(BcryptHash { cost, salt, digest })
}

impl BcryptHash<'_> {
    /// Recomputes the digest and compares the encoded digests in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        check_length(password)?;
        let parts = bcrypt::hash_with_salt(password, self.cost, self.salt)
            .map_err(|_| HashError::Internal("bcrypt computation failed".to_owned()))?;
        let encoded = parts.format_for_version(bcrypt::Version::TwoA);
        let computed = encoded
            .get(encoded.len().saturating_sub(DIGEST_CHARS)..)
            .unwrap_or_default();
        Ok(ct_eq(computed.as_bytes(), self.digest.as_bytes()))
    }
}

fn check_length(password: &[u8]) -> Result<(), HashError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(HashError::PasswordTooLong {
            max: MAX_PASSWORD_LEN,
        });
    }
    Ok(())
}

/// Hashes a new password as `$2a$<cost>$...` with a random salt.
pub(crate) fn check_cost(cost: u32) -> Result<(), HashError> {
    if !(MIN_COST..=MAX_COST).contains(&cost) {
        return Err(HashError::InvalidConfig(format!(
            "bcrypt cost must be between {MIN_COST} and {MAX_COST}"
        )));
    }
    Ok(())
}

pub(crate) fn hash_new(password: &[u8], cost: u32) -> Result<String, HashError> {
    check_length(password)?;
    check_cost(cost)?;
    let parts = bcrypt::hash_with_result(password, cost)
        .map_err(|_| HashError::Internal("bcrypt hashing failed".to_owned()))?;
    Ok(parts.format_for_version(bcrypt::Version::TwoA))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known vectors from Ory Kratos's hasher tests (password "test").
    const COST12: &str = "$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6";
    const COST15: &str = "$2a$15$GRvRO2nrpYTEuPQX6AieaOlZ4.7nMGsXpt.QWMev1zrP86JNspZbO";

    #[test]
    fn kratos_vector_cost_12() {
        let h = parse(COST12).unwrap();
        assert_eq!(h.cost, 12);
        assert!(h.verify(b"test").unwrap());
        assert!(!h.verify(b"tesT").unwrap());
        // Last digest character altered.
        let altered = COST12.replace("bkfL6", "bkfL7");
        assert!(!parse(&altered).unwrap().verify(b"test").unwrap());
    }

    #[test]
    fn kratos_vector_cost_15() {
        assert!(parse(COST15).unwrap().verify(b"test").unwrap());
        let altered = COST15.replace("spZbO", "spZb1");
        assert!(!parse(&altered).unwrap().verify(b"test").unwrap());
    }

    #[test]
    fn every_version_prefix_uses_the_same_computation() {
        let body = COST12.strip_prefix("$2a$").unwrap();
        for prefix in ["$2$", "$2b$", "$2y$", "$2z$"] {
            let h = format!("{prefix}{body}");
            assert!(has_prefix(&h));
            assert!(parse(&h).unwrap().verify(b"test").unwrap(), "{prefix}");
        }
        assert!(!has_prefix(&format!("$2x${body}")));
    }

    #[test]
    fn long_passwords_are_refused() {
        let h = parse(COST12).unwrap();
        assert!(matches!(
            h.verify(&[b'a'; 73]),
            Err(HashError::PasswordTooLong { max: 72 })
        ));
        assert!(matches!(
            hash_new(&[b'a'; 73], 4),
            Err(HashError::PasswordTooLong { max: 72 })
        ));
    }

    #[test]
    fn round_trip_at_72_bytes() {
        let pw = [b'x'; 72];
        let h = hash_new(&pw, 4).unwrap();
        assert!(h.starts_with("$2a$04$"));
        assert_eq!(h.len(), 60);
        assert!(parse(&h).unwrap().verify(&pw).unwrap());
        let mut other = pw;
        other[71] = b'y';
        assert!(!parse(&h).unwrap().verify(&other).unwrap());
    }

    #[test]
    fn bad_cost_in_config() {
        assert!(matches!(
            hash_new(b"pw", 3),
            Err(HashError::InvalidConfig(_))
        ));
        assert!(matches!(
            hash_new(b"pw", 32),
            Err(HashError::InvalidConfig(_))
        ));
    }

    #[test]
    fn malformed_hashes() {
        let body = &COST12[7..];
        for bad in [
            "$2a$",
            "$2a$12",
            "$2a$12$",
            "$2a$1$abc",
            "$2a$03$".to_owned().as_str(),
            &format!("$2a$03${body}"),
            &format!("$2a$32${body}"),
            &format!("$2a$1x${body}"),
            &format!("$2a$12${}", &body[1..]),
            &format!("$2a$12${body}x"),
            &format!("$2a$12${}!", &body[1..]),
            &format!("$2a$12${}é", &body[2..]),
        ] {
            assert!(
                matches!(parse(bad), Err(HashError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
