//! crypt(3) hashes behind Kratos prefixes: `$md5-crypt$` (`$1$`), `$sha256-crypt$` (`$5$`), `$sha512-crypt$` (`$6$`).

use super::encoding::{ct_eq, parse_decimal};
use super::error::{malformed, HashError};

/// Which crypt(3) scheme a hash uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Md5,
    Sha256,
    Sha512,
}

impl Scheme {
    /// The Kratos prefix and the checksum length (in crypt base64 characters).
    fn layout(self) -> (&'static str, usize) {
        match self {
            Scheme::Md5 => ("$md5-crypt$", 22),
            Scheme::Sha256 => ("$sha256-crypt$", 43),
            Scheme::Sha512 => ("$sha512-crypt$", 86),
        }
    }

    /// Recognises a Kratos crypt prefix.
    pub(crate) fn from_prefix(hash: &str) -> Option<Scheme> {
        [Scheme::Md5, Scheme::Sha256, Scheme::Sha512]
            .into_iter()
            .find(|s| hash.starts_with(s.layout().0))
    }
}

/// A parsed crypt(3) hash.
#[derive(Debug)]
pub(crate) struct CryptHash<'a> {
    scheme: Scheme,
    rounds: Option<u32>,
    salt: &'a str,
    checksum: &'a str,
}

fn is_crypt_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'/'
}

/// Parses `<prefix>[rounds=<n>$]<salt>$<checksum>`; `rounds=` only for the SHA schemes.
/// Salts are limited to the crypt alphabet (`./0-9A-Za-z`), as the pwhash crate requires.
pub(crate) fn parse(hash: &str) -> Result<CryptHash<'_>, HashError> {
    let scheme = Scheme::from_prefix(hash).ok_or_else(|| malformed("crypt: unknown prefix"))?;
    let (prefix, checksum_len) = scheme.layout();
    let mut rest = &hash[prefix.len()..];
    let mut rounds = None;
    if scheme != Scheme::Md5 {
        if let Some(after) = rest.strip_prefix("rounds=") {
            let (n, tail) = after
                .split_once('$')
                .ok_or_else(|| malformed("crypt: missing salt"))?;
            let n = parse_decimal(n)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| malformed("crypt: bad rounds"))?;
            rounds = Some(n);
            rest = tail;
        }
    }
    let (salt, checksum) = rest
        .split_once('$')
        .ok_or_else(|| malformed("crypt: expected `<salt>$<checksum>`"))?;
    if !salt.bytes().all(is_crypt_char) {
        return Err(malformed(
            "crypt: salt has characters outside the crypt alphabet",
        ));
    }
    if checksum.len() != checksum_len || !checksum.bytes().all(is_crypt_char) {
        return Err(malformed(
            "crypt: checksum has the wrong length or alphabet",
        ));
    }
    Ok(CryptHash {
        scheme,
        rounds,
        salt,
        checksum,
    })
}

impl CryptHash<'_> {
    /// Recomputes the crypt(3) string with pwhash and compares the checksums in constant time.
    /// pwhash truncates over-long salts and clamps rounds to 1000..=999999999, as glibc does.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let rounds = self
            .rounds
            .map(|r| format!("rounds={r}$"))
            .unwrap_or_default();
        let setting = |magic: &str| format!("{magic}{rounds}{}${}", self.salt, self.checksum);
        #[allow(deprecated)] // pwhash deprecates these for *new* passwords only.
        let computed = match self.scheme {
            Scheme::Md5 => pwhash::md5_crypt::hash_with(setting("$1$").as_str(), password),
            Scheme::Sha256 => pwhash::sha256_crypt::hash_with(setting("$5$").as_str(), password),
            Scheme::Sha512 => pwhash::sha512_crypt::hash_with(setting("$6$").as_str(), password),
        }
        .map_err(|_| malformed("crypt: parameters rejected"))?;
        let computed_checksum = computed.rsplit('$').next().unwrap_or_default();
        Ok(ct_eq(
            computed_checksum.as_bytes(),
            self.checksum.as_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(hash: &str, password: &[u8]) -> bool {
        parse(hash).unwrap().verify(password).unwrap()
    }

    #[test]
    fn kratos_md5_crypt_vectors() {
        assert!(check("$md5-crypt$TVEiiKNb$SN6/pUaRQS/E8Jh46As2C/", b"test"));
        assert!(check("$md5-crypt$$whuMjZj.HMFoaTaZRRtkO0", b"test"));
        assert!(!check(
            "$md5-crypt$xWMlm2eL$GGTOpgZu4p2k6ORprAu3b.",
            b"test"
        ));
        assert!(check("$md5-crypt$xWMlm2eL$GGTOpgZu4p2k6ORprAu3b.", b"ory"));
        assert!(!check("$md5-crypt$E7zjruqF$RTglYR1CzBHwwiTk9nVzx1", b"ory"));
    }

    #[test]
    fn kratos_sha256_crypt_vectors() {
        let test = "$sha256-crypt$rounds=535000$05R.9KB6UC2kLI3w$Q/zslzx./JjkAVPTwp6th7nW5l7JU91Gte/UmIh.U78";
        let ory = "$sha256-crypt$rounds=535000$awpcR7lDlnK/S7WE$vHU7KkQwyjfGz6u4MUi7.lH9htK/l63HloTsX1ZMz.3";
        assert!(check(test, b"test"));
        assert!(!check(ory, b"test"));
        assert!(check(ory, b"ory"));
        assert!(!check(test, b"ory"));
    }

    #[test]
    fn kratos_sha512_crypt_vectors() {
        let test = "$sha512-crypt$rounds=656000$3LVbIAVxR//cRajw$uuNasMW.RYxlGzIRFU1Was70BPSa933AjxhZIGJdJBOlqJAHlgqa0yuiuq5JHF/ryNGryJkj87G9i3G2HPSXg1";
        let ory = "$sha512-crypt$rounds=656000$0baQbxBrfpKqvizk$Q9cYk1MeNAlECPgpG3jjfNI2DumLqd0yHbxzLdxiX6nsSD5i9n0awcbiCf8R5DzpIYxeBPznPcb1wtzlgUKtH0";
        assert!(check(test, b"test"));
        assert!(!check(test, b"ory"));
        assert!(check(ory, b"ory"));
        assert!(!check(ory, b"test"));
    }

    // Vectors generated independently with `openssl passwd -1/-5/-6 -salt ... test`.
    #[test]
    fn openssl_vectors() {
        for v in [
            OPENSSL_MD5,
            OPENSSL_SHA256,
            OPENSSL_SHA256_R,
            OPENSSL_SHA512,
        ] {
            assert!(check(v, b"test"), "{v}");
            assert!(!check(v, b"test2"), "{v}");
        }
    }

    const OPENSSL_MD5: &str = "$md5-crypt$saltsalt$tTWg0JeO/sYmHvtKmZE8c.";
    const OPENSSL_SHA256: &str =
        "$sha256-crypt$05R.9KB6UC2kLI3w$v5M0yzcMti57WJPl8ZyLdaXwogPHG4KQl1uI26XBIQD";
    const OPENSSL_SHA256_R: &str =
        "$sha256-crypt$rounds=1000$abcdefgh$yhwYR/W6yMWQN0nvy.k5DELe0UlIdCU06qfckdsFAY2";
    const OPENSSL_SHA512: &str = "$sha512-crypt$3LVbIAVxR//cRajw$20U4iZrtPVT0QS8yrk3DSp9yUWjwAozON.qnM9O3XD.QLQWDzBQms7oiGDZ4mkTvjDmEj6n.WAqgF8GTM8Slk/";

    #[test]
    fn malformed_hashes() {
        for bad in [
            "$md5-crypt$",
            "$md5-crypt$$",
            "$md5-crypt$$$",
            // Kratos: the salt section must be present even when empty.
            "$md5-crypt$whuMjZj.HMFoaTaZRRtkO0",
            "$md5-crypt$rounds=5000$TVEiiKNb$SN6/pUaRQS/E8Jh46As2C/",
            "$md5-crypt$TVEi:KNb$SN6/pUaRQS/E8Jh46As2C/",
            "$md5-crypt$TVEiiKNb$SN6/pUaRQS/E8Jh46As2C/x",
            "$md5-crypt$TVEiiKNb$SN6/pUaRQS/E8Jh46As2C!",
            "$md5-crypt$TVEi\niKNb$SN6/pUaRQS/E8Jh46As2C/",
            "$sha256-crypt$$",
            "$sha256-crypt$$$",
            "$sha256-crypt$rounds=$abc$Q/zslzx./JjkAVPTwp6th7nW5l7JU91Gte/UmIh.U78",
            "$sha256-crypt$rounds=99999999999$abc$Q/zslzx./JjkAVPTwp6th7nW5l7JU91Gte/UmIh.U78",
            "$sha256-crypt$rounds=5000",
            "$sha512-crypt$$",
            "$sha512-crypt$rounds=5000$abc$short",
        ] {
            assert!(
                matches!(parse(bad), Err(HashError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
