//! PBKDF2 (`$pbkdf2-<alg>$i=<iter>,l=<len>$<salt>$<hash>`): parsing and verification of imported hashes.

use sha1::Sha1;
use sha2::{Sha256, Sha512};
use sha3::{Sha3_224, Sha3_384};

use super::encoding::{ct_eq, decode_b64, parse_params, B64_RAW};
use super::error::{malformed, HashError};

/// Pseudo-random function behind a `pbkdf2-<alg>` name.
///
/// Kratos maps `sha224` and `sha384` to SHA3-224 / SHA3-384 and every other
/// name to SHA-256; hashes it produced or imported depend on that mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prf {
    Sha1,
    Sha3_224,
    Sha256,
    Sha3_384,
    Sha512,
}

impl Prf {
    fn from_name(name: &str) -> Prf {
        match name {
            "sha1" => Prf::Sha1,
            "sha224" => Prf::Sha3_224,
            "sha256" => Prf::Sha256,
            "sha384" => Prf::Sha3_384,
            "sha512" => Prf::Sha512,
            _ => Prf::Sha256,
        }
    }
}

/// True for `$pbkdf2-sha<1 to 3 digits>$`, the prefixes Kratos recognises.
pub(crate) fn has_prefix(hash: &str) -> bool {
    let Some(rest) = hash.strip_prefix("$pbkdf2-sha") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (1..=3).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'$')
}

/// A parsed PBKDF2 hash. The `l=` value is ignored: the key length is the
/// decoded hash length.
#[derive(Debug)]
pub(crate) struct Pbkdf2Hash {
    pub(crate) prf: Prf,
    iterations: u32,
    salt: Vec<u8>,
    digest: Vec<u8>,
}

/// Parses `$pbkdf2-<alg>$i=<iter>,l=<keylen>$<salt>$<hash>` with unpadded base64.
pub(crate) fn parse(hash: &str) -> Result<Pbkdf2Hash, HashError> {
    if !has_prefix(hash) {
        return Err(malformed("pbkdf2: bad algorithm name"));
    }
    let parts: Vec<&str> = hash.split('$').collect();
    let [_, name, params, salt, digest] = parts.as_slice() else {
        return Err(malformed("pbkdf2: expected 4 `$`-separated fields"));
    };
    let alg = name
        .strip_prefix("pbkdf2-")
        .ok_or_else(|| malformed("pbkdf2: bad algorithm name"))?;
    let [iterations, _key_len] = parse_params(params, ["i", "l"])
        .ok_or_else(|| malformed("pbkdf2: parameters must be `i=<n>,l=<n>`"))?;
    let iterations =
        u32::try_from(iterations).map_err(|_| malformed("pbkdf2: iterations out of range"))?;
    let salt = decode_b64(&B64_RAW, salt).ok_or_else(|| malformed("pbkdf2: bad salt encoding"))?;
    let digest =
        decode_b64(&B64_RAW, digest).ok_or_else(|| malformed("pbkdf2: bad hash encoding"))?;
    if digest.is_empty() {
        return Err(malformed("pbkdf2: empty hash"));
    }
    Ok(Pbkdf2Hash {
        prf: Prf::from_name(alg),
        iterations,
        salt,
        digest,
    })
}

impl Pbkdf2Hash {
    /// Recomputes the key and compares in constant time. Zero iterations
    /// behave like one, as in Go's implementation.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let mut out = vec![0u8; self.digest.len()];
        let (pw, salt, rounds) = (password, self.salt.as_slice(), self.iterations);
        match self.prf {
            Prf::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(pw, salt, rounds, &mut out),
            Prf::Sha3_224 => pbkdf2::pbkdf2_hmac::<Sha3_224>(pw, salt, rounds, &mut out),
            Prf::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(pw, salt, rounds, &mut out),
            Prf::Sha3_384 => pbkdf2::pbkdf2_hmac::<Sha3_384>(pw, salt, rounds, &mut out),
            Prf::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(pw, salt, rounds, &mut out),
        }
        Ok(ct_eq(&out, &self.digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(hash: &str, password: &[u8]) -> bool {
        parse(hash).unwrap().verify(password).unwrap()
    }

    // Known vectors from Ory Kratos's hasher tests (password "test").
    const KRATOS_SHA256: &str = "$pbkdf2-sha256$i=100000,l=32$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI";
    const KRATOS_SHA512: &str = "$pbkdf2-sha512$i=100000,l=32$bdHBpn7OWOivJMVJypy2UqR0UnaD5prQXRZevj/05YU$+wArTfv1a+bNGO1iZrmEdVjhA+lL11wF4/IxpgYfPwc";

    #[test]
    fn kratos_vectors() {
        assert!(check(KRATOS_SHA256, b"test"));
        assert!(!check(KRATOS_SHA256, b"tesu"));
        assert!(check(KRATOS_SHA512, b"test"));
        assert!(!check(KRATOS_SHA512, b"tesu"));
        assert_eq!(parse(KRATOS_SHA512).unwrap().prf, Prf::Sha512);
    }

    // Vectors computed independently with Python's hashlib.pbkdf2_hmac
    // (salt "saltsalt", 1000 iterations, 32-byte key, password "test").
    const PY_SHA1: &str =
        "$pbkdf2-sha1$i=1000,l=32$c2FsdHNhbHQ$oq8zYNlDWbuqqKQZF4YOSjn5P8nhOmVF5TsuvHdrFqo";
    const PY_SHA3_224: &str =
        "$pbkdf2-sha224$i=1000,l=32$c2FsdHNhbHQ$omcpFvFCW1PZCKWfSIuWv5oz1D/+t0Fv3EXANbURfhA";
    const PY_SHA3_384: &str =
        "$pbkdf2-sha384$i=1000,l=32$c2FsdHNhbHQ$/Pk0Ozcx7QM9wjisTk/n6FSVuIiS1h5tIrqkc0Squxg";
    // Unknown `sha3` falls back to SHA-256.
    const PY_FALLBACK: &str =
        "$pbkdf2-sha3$i=1000,l=32$c2FsdHNhbHQ$PV/NgngXg7GnyIijVakkmRje8KEdSsAPgecsnyDghT4";

    #[test]
    fn independent_vectors_for_every_prf() {
        for (v, prf) in [
            (PY_SHA1, Prf::Sha1),
            (PY_SHA3_224, Prf::Sha3_224),
            (PY_SHA3_384, Prf::Sha3_384),
            (PY_FALLBACK, Prf::Sha256),
        ] {
            assert_eq!(parse(v).unwrap().prf, prf, "{v}");
            assert!(check(v, b"test"), "{v}");
            assert!(!check(v, b"Test"), "{v}");
        }
    }

    #[test]
    fn prefixes() {
        assert!(has_prefix("$pbkdf2-sha1$"));
        assert!(has_prefix("$pbkdf2-sha999$"));
        assert!(!has_prefix("$pbkdf2-sha1000$"));
        assert!(!has_prefix("$pbkdf2-sha$"));
        assert!(!has_prefix("$pbkdf2-md5$"));
        assert!(!has_prefix("$pbkdf2-sha256"));
    }

    #[test]
    fn malformed_hashes() {
        // Kratos's malformed pbkdf2 vectors, plus a few more.
        for bad in [
            "$pbkdf2-sha256$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI",
            "$pbkdf2-sha256$aaaa$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI",
            "$pbkdf2-sha512$I=100000,l=32$bdHBpn7OWOivJMVJypy2UqR0UnaD5prQXRZevj/05YU$+wArTfv1a+bNGO1iZrmEdVjhA+lL11wF4/IxpgYfPwc",
            "$pbkdf2-sha256$i=4294967296,l=32$c2FsdA$QJxz",
            "$pbkdf2-sha256$i=1,l=32$c2FsdA$",
            "$pbkdf2-sha256$i=1,l=32$c2FsdA==$QJxz",
            "$pbkdf2-sha256$i=1,l=32$c2FsdA$QJxz$",
            "$pbkdf2-sha256$i=1,l=32$c2FsdA",
            "$pbkdf2-sha256$",
        ] {
            assert!(matches!(parse(bad), Err(HashError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn zero_iterations_act_like_one() {
        let one = "$pbkdf2-sha256$i=1,l=32$c2FsdHNhbHQ$3/s7fEQP02OMsUO6SGxi2Sr0tXHl9ENf+arsLScSwfw";
        let zero = one.replace("i=1,", "i=0,");
        assert!(check(one, b"test"));
        assert!(check(&zero, b"test"));
    }
}
