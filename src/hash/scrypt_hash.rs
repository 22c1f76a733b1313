//! scrypt (`$scrypt$ln=<N>,r=<r>,p=<p>$<salt>$<hash>`): parsing, verification, and parameter checks shared with Firebase scrypt.

use super::encoding::{ct_eq, decode_b64, parse_params, B64_PADDED};
use super::error::{malformed, HashError};

/// Largest scrypt working memory accepted (`128 * r * N` and `128 * r * p`
/// bytes), 1 GiB; larger values would let one stored hash exhaust memory.
pub(crate) const MAX_MEMORY_BYTES: u64 = 1 << 30;

/// Validates scrypt cost parameters given `log2(N)`, `r` and `p`.
pub(crate) fn checked_params(log_n: u32, r: u64, p: u64) -> Result<scrypt::Params, HashError> {
    if !(1..=40).contains(&log_n) {
        return Err(malformed("scrypt: N out of range"));
    }
    let r = u32::try_from(r)
        .ok()
        .filter(|r| *r >= 1)
        .ok_or_else(|| malformed("scrypt: r out of range"))?;
    let p = u32::try_from(p)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| malformed("scrypt: p out of range"))?;
    let block = 128 * u64::from(r);
    let too_big = |x: Option<u64>| x.is_none_or(|bytes| bytes > MAX_MEMORY_BYTES);
    if too_big(block.checked_mul(1 << log_n)) || too_big(block.checked_mul(u64::from(p))) {
        return Err(malformed("scrypt: parameters need too much memory"));
    }
    let log_n = u8::try_from(log_n).map_err(|_| malformed("scrypt: N out of range"))?;
    // The length argument only matters for PHC output; the real output length
    // is the buffer handed to `scrypt::scrypt`.
    scrypt::Params::new(log_n, r, p, scrypt::Params::RECOMMENDED_LEN)
        .map_err(|_| malformed("scrypt: unsupported parameter combination"))
}

/// Runs scrypt into `out`.
pub(crate) fn derive(
    password: &[u8],
    salt: &[u8],
    params: &scrypt::Params,
    out: &mut [u8],
) -> Result<(), HashError> {
    scrypt::scrypt(password, salt, params, out)
        .map_err(|_| malformed("scrypt: unsupported output length"))
}

/// A parsed `$scrypt$` hash.
#[derive(Debug)]
pub(crate) struct ScryptHash {
    params: scrypt::Params,
    salt: Vec<u8>,
    digest: Vec<u8>,
}

/// Parses `$scrypt$ln=<N>,r=<r>,p=<p>$<salt>$<hash>` (padded base64).
///
/// Despite its name, Kratos passes `ln` to scrypt as N itself (e.g. 16384),
/// so it must be a power of two greater than one.
pub(crate) fn parse(hash: &str) -> Result<ScryptHash, HashError> {
    let parts: Vec<&str> = hash.split('$').collect();
    let [_, "scrypt", params, salt, digest] = parts.as_slice() else {
        return Err(malformed("scrypt: expected 4 `$`-separated fields"));
    };
    let [n, r, p] = parse_params(params, ["ln", "r", "p"])
        .ok_or_else(|| malformed("scrypt: parameters must be `ln=<N>,r=<n>,p=<n>`"))?;
    if n < 2 || !n.is_power_of_two() {
        return Err(malformed("scrypt: N must be a power of two greater than 1"));
    }
    let params = checked_params(n.trailing_zeros(), r, p)?;
    let salt =
        decode_b64(&B64_PADDED, salt).ok_or_else(|| malformed("scrypt: bad salt encoding"))?;
    let digest =
        decode_b64(&B64_PADDED, digest).ok_or_else(|| malformed("scrypt: bad hash encoding"))?;
    if digest.is_empty() {
        return Err(malformed("scrypt: empty hash"));
    }
    Ok(ScryptHash {
        params,
        salt,
        digest,
    })
}

impl ScryptHash {
    /// Recomputes the key (length = stored hash length) and compares in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let mut out = vec![0u8; self.digest.len()];
        derive(password, &self.salt, &self.params, &mut out)?;
        Ok(ct_eq(&out, &self.digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(hash: &str, password: &[u8]) -> bool {
        parse(hash).unwrap().verify(password).unwrap()
    }

    // Known vector from Ory Kratos's hasher tests (password "test").
    const KRATOS: &str = "$scrypt$ln=16384,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=";

    // Computed independently with Python's hashlib.scrypt
    // (password "test", salt "saltsalt", N=1024, r=8, p=2, 20-byte key).
    const PY_SMALL: &str = "$scrypt$ln=1024,r=8,p=2$c2FsdHNhbHQ=$QEw44bGhzHVePFMp2a0FtXbIZWU=";

    #[test]
    fn kratos_vector() {
        assert!(check(KRATOS, b"test"));
        assert!(!check(KRATOS, b"tesu"));
        // Kratos's altered-hash vector.
        let altered = KRATOS.replace("NYE=", "NYF=");
        assert!(!parse(&altered)
            .map(|h| h.verify(b"test").unwrap())
            .unwrap_or(false));
    }

    #[test]
    fn independent_vector_with_odd_key_length() {
        assert!(check(PY_SMALL, b"test"));
        assert!(!check(PY_SMALL, b"test "));
    }

    #[test]
    fn malformed_hashes() {
        let tail = "2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=";
        for bad in [
            // Kratos's malformed scrypt vectors.
            format!("$scrypt${tail}"),
            format!("$scrypt$ln=16384,r=8,p=1$({tail}"),
            format!("$scrypt$ln=16385,r=8,p=1${tail}"),
            format!("$scrypt$ln=abc,r=8,p=1${tail}"),
            // More.
            format!("$scrypt$ln=14,r=8,p=1${tail}").replace("ln=14", "ln=1"),
            format!("$scrypt$ln=0,r=8,p=1${tail}"),
            format!("$scrypt$ln=16384,r=0,p=1${tail}"),
            format!("$scrypt$ln=16384,r=8,p=0${tail}"),
            format!("$scrypt$ln=1099511627776,r=8,p=1${tail}"),
            format!("$scrypt$ln=1048576,r=16,p=1${tail}"),
            format!("$scrypt$ln=16384,r=8,p=99999999${tail}"),
            format!("$scrypt$ln=16384,r=8,p=1,x=1${tail}"),
            "$scrypt$ln=16384,r=8,p=1$c2FsdA==$".to_owned(),
            "$scrypt$ln=16384,r=8,p=1$c2FsdA$MiCz".to_owned(),
            "$scrypt$ln=16384,r=8,p=1$c2FsdA==$MiCz$".to_owned(),
            "$scrypt$".to_owned(),
        ] {
            assert!(
                matches!(parse(&bad), Err(HashError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
