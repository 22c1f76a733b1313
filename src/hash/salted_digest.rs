//! Plain and template-salted digests: `$md5$<hash>`, `$md5$pf=..$salt$hash`, `$sha1$`/`$sha256$`/`$sha512$` with `pf=` templates.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::encoding::{ct_eq, decode_b64, B64_PADDED};
use super::error::{malformed, HashError};

/// The digest behind one of these prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestAlg {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl DigestAlg {
    fn prefix(self) -> &'static str {
        match self {
            DigestAlg::Md5 => "$md5$",
            DigestAlg::Sha1 => "$sha1$",
            DigestAlg::Sha256 => "$sha256$",
            DigestAlg::Sha512 => "$sha512$",
        }
    }

    fn output_len(self) -> usize {
        match self {
            DigestAlg::Md5 => 16,
            DigestAlg::Sha1 => 20,
            DigestAlg::Sha256 => 32,
            DigestAlg::Sha512 => 64,
        }
    }

    /// Recognises `$md5$`, `$sha1$`, `$sha256$` and `$sha512$`.
    pub(crate) fn from_prefix(hash: &str) -> Option<DigestAlg> {
        [
            DigestAlg::Md5,
            DigestAlg::Sha1,
            DigestAlg::Sha256,
            DigestAlg::Sha512,
        ]
        .into_iter()
        .find(|a| hash.starts_with(a.prefix()))
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlg::Md5 => Md5::digest(data).to_vec(),
            DigestAlg::Sha1 => Sha1::digest(data).to_vec(),
            DigestAlg::Sha256 => Sha256::digest(data).to_vec(),
            DigestAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// A parsed digest hash; `salting` is `None` for the unsalted `$md5$<hash>` form.
#[derive(Debug)]
pub(crate) struct DigestHash {
    alg: DigestAlg,
    salting: Option<Salting>,
    digest: Vec<u8>,
}

#[derive(Debug)]
struct Salting {
    template: Vec<u8>,
    salt: Vec<u8>,
}

/// Parses `$md5$<hash>` or `$<alg>$pf=<template>$<salt>$<hash>`, every field in
/// padded standard base64. Only MD5 has the unsalted form.
pub(crate) fn parse(hash: &str) -> Result<DigestHash, HashError> {
    let alg = DigestAlg::from_prefix(hash).ok_or_else(|| malformed("digest: unknown prefix"))?;
    let parts: Vec<&str> = hash.split('$').collect();
    let decode = |field: &str, what: &str| {
        decode_b64(&B64_PADDED, field)
            .ok_or_else(|| HashError::Malformed(format!("digest: bad {what} encoding")))
    };
    let (salting, digest) = match parts.as_slice() {
        [_, _, digest] if alg == DigestAlg::Md5 => (None, decode(digest, "hash")?),
        [_, _, pf, salt, digest] => {
            let template = pf
                .strip_prefix("pf=")
                .filter(|t| !t.is_empty())
                .ok_or_else(|| malformed("digest: expected `pf=<template>`"))?;
            let salting = Salting {
                template: decode(template, "template")?,
                salt: decode(salt, "salt")?,
            };
            (Some(salting), decode(digest, "hash")?)
        }
        _ => return Err(malformed("digest: wrong number of `$`-separated fields")),
    };
    if digest.len() != alg.output_len() {
        return Err(malformed("digest: hash has the wrong length"));
    }
    Ok(DigestHash {
        alg,
        salting,
        digest,
    })
}

/// Replaces `{SALT}` and `{PASSWORD}` in one left-to-right pass; substituted
/// text is never scanned again.
pub(crate) fn fill_template(template: &[u8], salt: &[u8], password: &[u8]) -> Vec<u8> {
    const SALT: &[u8] = b"{SALT}";
    const PASSWORD: &[u8] = b"{PASSWORD}";
    let mut out = Vec::with_capacity(template.len() + salt.len() + password.len());
    let mut rest = template;
    while let Some((&first, tail)) = rest.split_first() {
        if let Some(after) = rest.strip_prefix(SALT) {
            out.extend_from_slice(salt);
            rest = after;
        } else if let Some(after) = rest.strip_prefix(PASSWORD) {
            out.extend_from_slice(password);
            rest = after;
        } else {
            out.push(first);
            rest = tail;
        }
    }
    out
}

impl DigestHash {
    /// Digests the password (or the filled template) and compares in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let computed = match &self.salting {
            None => self.alg.digest(password),
            Some(s) => self
                .alg
                .digest(&fill_template(&s.template, &s.salt, password)),
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

    #[test]
    fn template_substitution() {
        assert_eq!(fill_template(b"{SALT}{PASSWORD}", b"s", b"p"), b"sp");
        assert_eq!(
            fill_template(b"x{PASSWORD}$${SALT}$", b"s", b"p"),
            b"xp$$s$"
        );
        // Substituted text is not rescanned.
        assert_eq!(
            fill_template(b"{PASSWORD}{SALT}", b"{PASSWORD}", b"{SALT}"),
            b"{SALT}{PASSWORD}"
        );
        assert_eq!(fill_template(b"{SALT", b"s", b"p"), b"{SALT");
        assert_eq!(fill_template(b"", b"s", b"p"), b"");
    }

    // Known vectors from Ory Kratos's hasher tests.
    #[test]
    fn kratos_md5_vectors() {
        assert!(check("$md5$CY9rzUYh03PK3k6DJie09g==", b"test"));
        assert!(!check("$md5$WhBei51A4TKXgNYuoiZdig==", b"test"));
        assert!(!check("$md5$Dk/E5LQLsx4yt8QbUbvpdg==", b"test"));
        assert!(check("$md5$ptoWyof5SobW+pbZu2QXoQ==", b"ory"));
        assert!(!check("$md5$4skj967KRHFsnPFoL5dMMw==", b"ory"));
        // pf={SALT}{PASSWORD} salt=123
        assert!(check(
            "$md5$pf=e1NBTFR9e1BBU1NXT1JEfQ==$MTIz$q+RdKCgc+ipCAcm5ChQwlQ==",
            b"test"
        ));
        assert!(!check(
            "$md5$pf=e1NBTFR9e1BBU1NXT1JEfQ==$MTIz$hh8ZTp1hGPPZQqcr4+UXSQ==",
            b"test"
        ));
        // pf={SALT}$${PASSWORD} salt=1234
        let v = "$md5$pf=e1NBTFR9JCR7UEFTU1dPUkR9$MTIzNA==$ud392Z8rfZ+Ou7ZFXYLKbA==";
        assert!(check(v, b"test"));
        assert!(!check(v, b"test1"));
        // pf={PASSWORD}{SALT}$? salt=123456789
        let v = "$md5$pf=e1BBU1NXT1JEfXtTQUxUfSQ/$MTIzNDU2Nzg5$8PhwWanVRnpJAFK4NUjR0w==";
        assert!(check(v, b"ory"));
        assert!(!check(v, b"ory1"));
    }

    #[test]
    fn kratos_sha1_vectors() {
        // pf={SALT}{PASSWORD}
        let v = "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=";
        assert!(check(v, b"test"));
        assert!(!check(v, b"wrongpass"));
        assert!(!check(v, b"tset"));
        // Wrong salt.
        assert!(!check(
            "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$cDJvb3ZrZGJ6cQ==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
            b"test"
        ));
        assert!(check(
            "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$99h9net4BXl7qdTRaiGUobLROxM=",
            b"BwS^514g^cv@Z"
        ));
        // pf=??staticPrefix??{SALT}{PASSWORD}
        assert!(check(
            "$sha1$pf=Pz9zdGF0aWNQcmVmaXg/P3tTQUxUfXtQQVNTV09SRH0=$NW9wbWtnejAzcg==$SAAxMUn7jxckQXkBmsVF0nHwqso=",
            b"test"
        ));
        // pf={PASSWORD}%%{SALT}
        assert!(check(
            "$sha1$pf=e1BBU1NXT1JEfSUle1NBTFR9$NW9wbWtnejAzcg==$YX0AW8/MW5ojUlnzTaR43ucHCog=",
            b"test"
        ));
        // pf=${PASSWORD}${SALT}$
        assert!(check(
            "$sha1$pf=JHtQQVNTV09SRH0ke1NBTFR9JA==$NW9wbWtnejAzcg==$iE5n1yjX3oAdxRHwZ4u57I4LpQo=",
            b"test"
        ));
    }

    #[test]
    fn kratos_sha256_vectors() {
        let v = "$sha256$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$0gfRVLCvtBCk20udLDEY5vNhujWx7RGjwRIS1ebMsLY=";
        assert!(check(v, b"test"));
        assert!(!check(v, b"wrongpass"));
        // pf={SALT}$${PASSWORD}
        let v = "$sha256$pf=e1NBTFR9JCR7UEFTU1dPUkR9$NW9wbWtnejAzcg==$HokCOi9OtiZaZRvnkgemV3B4UUHpI7kA8zq/EZWH2NY=";
        assert!(check(v, b"test"));
        assert!(!check(v, b"wrongpass"));
    }

    #[test]
    fn kratos_sha512_vectors() {
        let v = "$sha512$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$6ctpVuApMNp0CgBXcdHw/GC562eFEFGr4gpgANX8ZYsX+j5B19IkdmOY2Fytsz3QUwSWdGcUjbqwgJGTH0UYvw==";
        assert!(check(v, b"test"));
        assert!(!check(v, b"wrongpass"));
        let v = "$sha512$pf=e1NBTFR9JCR7UEFTU1dPUkR9$NW9wbWtnejAzcg==$1F9BPW8UtdJkZ9Dhlf+D4X4dJ9xfuH8y04EfuCP2k4aGPPq/aWxU9/xe3LydHmYW1/K3zu3NFO9ETVrZettz3w==";
        assert!(check(v, b"test"));
        assert!(!check(v, b"wrongpass"));
    }

    #[test]
    fn malformed_hashes() {
        for bad in [
            // Kratos's malformed md5 vectors.
            "$md5$$",
            "$md5$$$",
            "$md5$pf=$$",
            "$md5$pf=MTIz$Z$",
            "$md5$pf=MTIz$MTIz$Z",
            // Kratos's malformed sha1 vectors.
            "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$5opmkgz03r$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
            "$sha1$pf=$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
            "$sha1$$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
            "$sha1$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
            // More: empty or wrong-length digests, unsalted SHA, padding errors.
            "$md5$",
            "$md5$YWJj",
            "$md5$YWJj$",
            "$sha1$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
            "$sha256$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
            "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
            "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=$",
        ] {
            assert!(
                matches!(parse(bad), Err(HashError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_salt_is_allowed() {
        // pf={PASSWORD}{SALT}, empty salt: plain MD5 of "test".
        assert!(check(
            "$md5$pf=e1BBU1NXT1JEfXtTQUxUfQ==$$CY9rzUYh03PK3k6DJie09g==",
            b"test"
        ));
    }
}
