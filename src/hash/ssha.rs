//! LDAP salted SHA (`{SSHA}`, `{SSHA256}`, `{SSHA512}`): `base64(SHA-x(password ‖ salt) ‖ salt)`.

use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::encoding::{ct_eq, decode_b64, B64_PADDED_LENIENT};
use super::error::{malformed, HashError};

/// The SHA variant named by the scheme tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShaAlg {
    Sha1,
    Sha256,
    Sha512,
}

impl ShaAlg {
    fn tag(self) -> &'static str {
        match self {
            ShaAlg::Sha1 => "{SSHA}",
            ShaAlg::Sha256 => "{SSHA256}",
            ShaAlg::Sha512 => "{SSHA512}",
        }
    }

    fn output_len(self) -> usize {
        match self {
            ShaAlg::Sha1 => 20,
            ShaAlg::Sha256 => 32,
            ShaAlg::Sha512 => 64,
        }
    }

    /// Recognises the `{SSHA}`, `{SSHA256}` and `{SSHA512}` tags.
    pub(crate) fn from_prefix(hash: &str) -> Option<ShaAlg> {
        [ShaAlg::Sha1, ShaAlg::Sha256, ShaAlg::Sha512]
            .into_iter()
            .find(|a| hash.starts_with(a.tag()))
    }
}

/// A parsed LDAP salted SHA hash.
#[derive(Debug)]
pub(crate) struct SshaHash {
    alg: ShaAlg,
    digest: Vec<u8>,
    salt: Vec<u8>,
}

/// Parses `{SSHA*}<base64(digest ‖ salt)>`; the salt must be at least one byte.
/// Like Kratos, non-zero trailing bits in the base64 are tolerated.
pub(crate) fn parse(hash: &str) -> Result<SshaHash, HashError> {
    let alg = ShaAlg::from_prefix(hash).ok_or_else(|| malformed("ssha: unknown tag"))?;
    let mut raw = decode_b64(&B64_PADDED_LENIENT, &hash[alg.tag().len()..])
        .ok_or_else(|| malformed("ssha: bad base64"))?;
    if raw.len() <= alg.output_len() {
        return Err(malformed("ssha: too short to hold a digest and a salt"));
    }
    let salt = raw.split_off(alg.output_len());
    Ok(SshaHash {
        alg,
        digest: raw,
        salt,
    })
}

impl SshaHash {
    /// Digests `password ‖ salt` and compares in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let computed = match self.alg {
            ShaAlg::Sha1 => Sha1::new()
                .chain_update(password)
                .chain_update(&self.salt)
                .finalize()
                .to_vec(),
            ShaAlg::Sha256 => Sha256::new()
                .chain_update(password)
                .chain_update(&self.salt)
                .finalize()
                .to_vec(),
            ShaAlg::Sha512 => Sha512::new()
                .chain_update(password)
                .chain_update(&self.salt)
                .finalize()
                .to_vec(),
        };
        Ok(ct_eq(&computed, &self.digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(hash: &str, password: &[u8]) -> bool {
        parse(hash).unwrap().verify(password).unwrap()
    }

    // Known vectors from Ory Kratos's hasher tests (password "test123").
    #[test]
    fn kratos_vectors() {
        for v in [
            "{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276a",
            "{SSHA256}czO44OTV17PcF1cRxWrLZLy9xHd7CWyVYplr1rOhuMlx/7IK",
            "{SSHA512}xPUl/px+1cG55rUH4rzcwxdOIPSB2TingLpiJJumN2xyDWN4Ix1WQG3ihnvHaWUE8MYNkvMi5rf0C9NYixHsE6Yh59M=",
        ] {
            assert!(check(v, b"test123"), "{v}");
            assert!(!check(v, b"badtest"), "{v}");
        }
    }

    #[test]
    fn malformed_hashes() {
        for bad in [
            "{SSHA}tooshort",
            "{SSHA}",
            "{SSHA}JFZFs0oHzxbMwkSJmYVeI8Mn",
            "{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276",
            "{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/27!a",
            "{SSHA256}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276a",
        ] {
            assert!(
                matches!(parse(bad), Err(HashError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(ShaAlg::from_prefix("{SSHAnotExistent}xPUl"), None);
        assert_eq!(ShaAlg::from_prefix("{ssha}xPUl"), None);
    }
}
