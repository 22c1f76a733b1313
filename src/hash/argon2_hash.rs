//! argon2id / argon2i in PHC form (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`): parsing, verification and creation.

use argon2::{Argon2, Params, Version};
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;

use super::config::Argon2Params;
use super::encoding::{ct_eq, decode_b64, parse_params, B64_RAW};
use super::error::{malformed, HashError};

/// Largest memory cost accepted, in KiB (4 GiB). Larger values would make a
/// single verification allocate more than a server can be expected to have.
pub(crate) const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
/// Largest parallelism accepted (Kratos stores it in a `uint8`).
pub(crate) const MAX_PARALLELISM: u32 = 255;
/// Shortest salt the argon2 crate accepts.
pub(crate) const MIN_SALT_LEN: usize = argon2::MIN_SALT_LEN;
/// Shortest output the argon2 crate accepts.
pub(crate) const MIN_KEY_LEN: usize = Params::MIN_OUTPUT_LEN;

/// Which argon2 variant a hash was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    Argon2id,
    Argon2i,
}

/// A parsed argon2 PHC string.
#[derive(Debug)]
pub(crate) struct Argon2Hash {
    pub(crate) variant: Variant,
    pub(crate) memory_kib: u32,
    pub(crate) iterations: u32,
    pub(crate) parallelism: u32,
    pub(crate) salt: Vec<u8>,
    pub(crate) digest: Vec<u8>,
}

/// Parses `$argon2id$v=19$m=<KiB>,t=<iter>,p=<par>$<salt>$<hash>` (or `$argon2i$...`),
/// salt and hash in unpadded standard base64.
pub(crate) fn parse(hash: &str) -> Result<Argon2Hash, HashError> {
    let parts: Vec<&str> = hash.split('$').collect();
    let [empty, name, version, params, salt, digest] = parts.as_slice() else {
        return Err(malformed("argon2: expected 5 `$`-separated fields"));
    };
    if !empty.is_empty() {
        return Err(malformed("argon2: must start with `$`"));
    }
    let variant = match *name {
        "argon2id" => Variant::Argon2id,
        "argon2i" => Variant::Argon2i,
        _ => return Err(malformed("argon2: unknown variant")),
    };
    if *version != "v=19" {
        return Err(malformed("argon2: only version 19 is supported"));
    }
    let [m, t, p] = parse_params(params, ["m", "t", "p"])
        .ok_or_else(|| malformed("argon2: parameters must be `m=<n>,t=<n>,p=<n>`"))?;
    let memory_kib = u32::try_from(m)
        .ok()
        .filter(|m| *m <= MAX_MEMORY_KIB)
        .ok_or_else(|| malformed("argon2: memory cost too large"))?;
    let iterations = u32::try_from(t)
        .ok()
        .filter(|t| *t >= 1)
        .ok_or_else(|| malformed("argon2: iterations out of range"))?;
    let parallelism = u32::try_from(p)
        .ok()
        .filter(|p| (1..=MAX_PARALLELISM).contains(p))
        .ok_or_else(|| malformed("argon2: parallelism out of range"))?;
    let salt = decode_b64(&B64_RAW, salt).ok_or_else(|| malformed("argon2: bad salt encoding"))?;
    if salt.len() < MIN_SALT_LEN {
        return Err(malformed(
            "argon2: salts shorter than 8 bytes are not supported",
        ));
    }
    let digest =
        decode_b64(&B64_RAW, digest).ok_or_else(|| malformed("argon2: bad hash encoding"))?;
    if digest.len() < MIN_KEY_LEN {
        return Err(malformed("argon2: hash shorter than 4 bytes"));
    }
    Ok(Argon2Hash {
        variant,
        memory_kib,
        iterations,
        parallelism,
        salt,
        digest,
    })
}

/// Runs argon2 into `out`. Memory below 8 KiB per lane is raised to that
/// minimum, as Go's implementation (used by Kratos) does silently.
fn derive(
    variant: Variant,
    password: &[u8],
    salt: &[u8],
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    out: &mut [u8],
) -> Result<(), HashError> {
    let memory = memory_kib.max(parallelism.saturating_mul(8));
    let params = Params::new(memory, iterations, parallelism, Some(out.len()))
        .map_err(|_| malformed("argon2: unsupported parameters"))?;
    let algorithm = match variant {
        Variant::Argon2id => argon2::Algorithm::Argon2id,
        Variant::Argon2i => argon2::Algorithm::Argon2i,
    };
    Argon2::new(algorithm, Version::V0x13, params)
        .hash_password_into(password, salt, out)
        .map_err(|_| HashError::Internal("argon2 computation failed".to_owned()))
}

impl Argon2Hash {
    /// Recomputes the key with the stored parameters and compares in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let mut out = vec![0u8; self.digest.len()];
        derive(
            self.variant,
            password,
            &self.salt,
            self.memory_kib,
            self.iterations,
            self.parallelism,
            &mut out,
        )?;
        Ok(ct_eq(&out, &self.digest))
    }

    /// True if this hash is argon2id made with exactly the given parameters.
    pub(crate) fn matches(&self, p: &Argon2Params) -> bool {
        self.variant == Variant::Argon2id
            && self.memory_kib == p.memory_kib
            && self.iterations == p.iterations
            && self.parallelism == p.parallelism
            && self.salt.len() == p.salt_length as usize
            && self.digest.len() == p.key_length as usize
    }
}

pub(crate) fn check_config(p: &Argon2Params) -> Result<(), HashError> {
    let fail = |msg: &str| Err(HashError::InvalidConfig(format!("argon2: {msg}")));
    if !(1..=MAX_PARALLELISM).contains(&p.parallelism) {
        return fail("parallelism must be between 1 and 255");
    }
    if p.memory_kib < p.parallelism * 8 {
        return fail("memory must be at least 8 KiB per lane");
    }
    if p.memory_kib > MAX_MEMORY_KIB {
        return fail("memory must be at most 4 GiB");
    }
    if p.iterations < 1 {
        return fail("iterations must be at least 1");
    }
    if (p.salt_length as usize) < MIN_SALT_LEN {
        return fail("salt length must be at least 8 bytes");
    }
    if (p.key_length as usize) < MIN_KEY_LEN {
        return fail("key length must be at least 4 bytes");
    }
    Ok(())
}

/// Hashes a new password with argon2id and a random salt.
pub(crate) fn hash_new(password: &[u8], p: &Argon2Params) -> Result<String, HashError> {
    check_config(p)?;
    let mut salt = vec![0u8; p.salt_length as usize];
    OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|_| HashError::Internal("OS random source unavailable".to_owned()))?;
    let mut key = vec![0u8; p.key_length as usize];
    derive(
        Variant::Argon2id,
        password,
        &salt,
        p.memory_kib,
        p.iterations,
        p.parallelism,
        &mut key,
    )?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        p.memory_kib,
        p.iterations,
        p.parallelism,
        B64_RAW.encode(&salt),
        B64_RAW.encode(&key),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known vectors from Ory Kratos's hasher tests (password "test").
    const ID_T2: &str = "$argon2id$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw";
    const ID_T5: &str =
        "$argon2id$v=19$m=32,t=5,p=4$cm94YnRVOW5jZzFzcVE4bQ$fBxypOL0nP/zdPE71JtAV71i487LbX3fJI5PoTN6Lp4";
    const I_M64M: &str =
        "$argon2i$v=19$m=65536,t=3,p=4$kk51rW/vxIVCYn+EG4kTSg$NyT88uraJ6im6dyha/M5jhXvpqlEdlS/9fEm7ScMb8c";
    // Kratos's negative argon2i vector: a hash of a different password.
    const I_OTHER: &str =
        "$argon2i$v=19$m=65536,t=3,p=4$pZ+27D6B0bCi0DwSmANF1w$4RNCUu4Uyu7eTIvzIdSuKz+I9idJlX/ykn6J10/W0EU";

    const SMALL: Argon2Params = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        salt_length: 16,
        key_length: 32,
    };

    #[test]
    fn kratos_argon2id_vectors() {
        for v in [ID_T2, ID_T5] {
            let h = parse(v).unwrap();
            assert_eq!(h.variant, Variant::Argon2id);
            assert!(h.verify(b"test").unwrap(), "{v}");
            assert!(!h.verify(b"tset").unwrap(), "{v}");
        }
        // Last hash character altered (Kratos's negative vectors).
        let altered = ID_T2.replace("RNw", "RN2");
        assert!(!parse(&altered)
            .map(|h| h.verify(b"test").unwrap())
            .unwrap_or(false));
        let altered = ID_T5.replace("Lp4", "Lp5");
        assert!(!parse(&altered)
            .map(|h| h.verify(b"test").unwrap())
            .unwrap_or(false));
    }

    #[test]
    fn kratos_argon2i_vector() {
        let h = parse(I_M64M).unwrap();
        assert_eq!(h.variant, Variant::Argon2i);
        assert_eq!(h.memory_kib, 65536);
        assert!(h.verify(b"test").unwrap());
        assert!(!h.verify(b"test1").unwrap());
        assert!(!parse(I_OTHER).unwrap().verify(b"test").unwrap());
    }

    #[test]
    fn round_trip() {
        let h = hash_new(b"correct horse", &SMALL).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let parsed = parse(&h).unwrap();
        assert!(parsed.matches(&SMALL));
        assert!(parsed.verify(b"correct horse").unwrap());
        assert!(!parsed.verify(b"correct horsf").unwrap());
        assert_ne!(
            h,
            hash_new(b"correct horse", &SMALL).unwrap(),
            "salt must be random"
        );
    }

    #[test]
    fn low_memory_is_raised_like_go() {
        // m=8 with p=2 is below 8 KiB per lane; Go raises it to 16, and so do we.
        let salt = b"0123456789abcdef";
        let mut expected = [0u8; 16];
        derive(Variant::Argon2id, b"pw", salt, 16, 1, 2, &mut expected).unwrap();
        let h = format!(
            "$argon2id$v=19$m=8,t=1,p=2${}${}",
            B64_RAW.encode(salt),
            B64_RAW.encode(expected)
        );
        assert!(parse(&h).unwrap().verify(b"pw").unwrap());
    }

    #[test]
    fn bad_config() {
        for p in [
            Argon2Params {
                parallelism: 0,
                ..SMALL
            },
            Argon2Params {
                parallelism: 256,
                memory_kib: 4096,
                ..SMALL
            },
            Argon2Params {
                memory_kib: 7,
                ..SMALL
            },
            Argon2Params {
                memory_kib: MAX_MEMORY_KIB + 1,
                ..SMALL
            },
            Argon2Params {
                iterations: 0,
                ..SMALL
            },
            Argon2Params {
                salt_length: 7,
                ..SMALL
            },
            Argon2Params {
                key_length: 3,
                ..SMALL
            },
        ] {
            assert!(
                matches!(hash_new(b"pw", &p), Err(HashError::InvalidConfig(_))),
                "{p:?}"
            );
        }
    }

    #[test]
    fn malformed_hashes() {
        let salt = "cm94YnRVOW5jZzFzcVE4bQ";
        let digest = "MNzk5BtR2vUhrp6qQEjRNw";
        for bad in [
            "$argon2id$".to_owned(),
            format!("$argon2id$v=19$m=32,t=2,p=4${salt}"),
            format!("$argon2id$v=19$m=32,t=2,p=4${salt}${digest}$"),
            format!("$argon2id$v=16$m=32,t=2,p=4${salt}${digest}"),
            format!("$argon2id$m=32,t=2,p=4${salt}${digest}"),
            format!("$argon2id$v=19$t=2,m=32,p=4${salt}${digest}"),
            format!("$argon2id$v=19$m=32,t=0,p=4${salt}${digest}"),
            format!("$argon2id$v=19$m=32,t=2,p=0${salt}${digest}"),
            format!("$argon2id$v=19$m=32,t=2,p=256${salt}${digest}"),
            format!("$argon2id$v=19$m=4294967295,t=2,p=4${salt}${digest}"),
            format!("$argon2id$v=19$m=99999999999,t=2,p=4${salt}${digest}"),
            format!("$argon2id$v=19$m=32,t=2,p=4${salt}=${digest}"),
            format!("$argon2id$v=19$m=32,t=2,p=4$c2FsdA${digest}"),
            format!("$argon2id$v=19$m=32,t=2,p=4${salt}$AAA"),
            format!("$argon2id$v=19$m=32,t=2,p=4${salt}$"),
            format!("$argon2id$v=19$m=32,t=2,p=4${salt}$!!!!"),
        ] {
            assert!(
                matches!(parse(&bad), Err(HashError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
