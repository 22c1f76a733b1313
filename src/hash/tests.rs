//! Cross-format tests of the public API: one known vector per format, error kinds, rehash decisions and no-panic robustness.

use super::*;

const SMALL_ARGON2: Argon2Params = Argon2Params {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
    salt_length: 16,
    key_length: 32,
};

fn argon2_cfg() -> HasherConfig {
    HasherConfig {
        algorithm: Algorithm::Argon2,
        bcrypt_cost: 4,
        argon2: SMALL_ARGON2,
    }
}

fn bcrypt_cfg() -> HasherConfig {
    HasherConfig {
        algorithm: Algorithm::Bcrypt,
        ..argon2_cfg()
    }
}

/// One cheap known vector per format: (hash, correct password).
/// Sources: Ory Kratos's hasher tests unless marked otherwise.
const VECTORS: &[(&str, &str)] = &[
    ("$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6", "test"),
    ("$argon2id$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw", "test"),
    ("$argon2i$v=19$m=65536,t=3,p=4$kk51rW/vxIVCYn+EG4kTSg$NyT88uraJ6im6dyha/M5jhXvpqlEdlS/9fEm7ScMb8c", "test"),
    // Python hashlib.pbkdf2_hmac (SHA3-224 under the `sha224` name).
    ("$pbkdf2-sha224$i=1000,l=32$c2FsdHNhbHQ$omcpFvFCW1PZCKWfSIuWv5oz1D/+t0Fv3EXANbURfhA", "test"),
    // Python hashlib.scrypt.
    ("$scrypt$ln=1024,r=8,p=2$c2FsdHNhbHQ=$QEw44bGhzHVePFMp2a0FtXbIZWU=", "test"),
    // Python hashlib.scrypt + openssl AES-256-CTR.
    ("$firescrypt$ln=10,r=8,p=1$TmFDbC1zYWx0$WgAaUlMSMN0Nsjq3gP24zqMNNYhsIO6O/rhP5A2oQbvYH4d3W/D0Gw==$Bw==$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==", "hunter2"),
    ("$md5-crypt$xWMlm2eL$GGTOpgZu4p2k6ORprAu3b.", "ory"),
    // openssl passwd -5 / -6.
    ("$sha256-crypt$rounds=1000$abcdefgh$yhwYR/W6yMWQN0nvy.k5DELe0UlIdCU06qfckdsFAY2", "test"),
    ("$sha512-crypt$3LVbIAVxR//cRajw$20U4iZrtPVT0QS8yrk3DSp9yUWjwAozON.qnM9O3XD.QLQWDzBQms7oiGDZ4mkTvjDmEj6n.WAqgF8GTM8Slk/", "test"),
    ("$md5$CY9rzUYh03PK3k6DJie09g==", "test"),
    ("$md5$pf=e1NBTFR9e1BBU1NXT1JEfQ==$MTIz$q+RdKCgc+ipCAcm5ChQwlQ==", "test"),
    ("$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=", "test"),
    ("$sha256$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$0gfRVLCvtBCk20udLDEY5vNhujWx7RGjwRIS1ebMsLY=", "test"),
    ("$sha512$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$6ctpVuApMNp0CgBXcdHw/GC562eFEFGr4gpgANX8ZYsX+j5B19IkdmOY2Fytsz3QUwSWdGcUjbqwgJGTH0UYvw==", "test"),
    ("{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276a", "test123"),
    ("{SSHA256}czO44OTV17PcF1cRxWrLZLy9xHd7CWyVYplr1rOhuMlx/7IK", "test123"),
    ("{SSHA512}xPUl/px+1cG55rUH4rzcwxdOIPSB2TingLpiJJumN2xyDWN4Ix1WQG3ihnvHaWUE8MYNkvMi5rf0C9NYixHsE6Yh59M=", "test123"),
    ("$hmac-sha256$ZTAzMWJhMWMyOTM4YjFkMjgzZjkxOWExZGY5YWM2NmMxOTJhN2RkNzQ0MzJkNWZkNGFkYTI5OTk0MWJhMTA5Zg==$MTIzNDU=", "test"),
];

#[test]
fn every_format_verifies_through_the_public_api() {
    for (hash, password) in VECTORS {
        assert!(is_importable(hash), "{hash}");
        assert!(
            verify_password(password.as_bytes(), hash).unwrap(),
            "{hash}"
        );
        let wrong = format!("{password}!");
        assert!(!verify_password(wrong.as_bytes(), hash).unwrap(), "{hash}");
        assert!(!verify_password(b"", hash).unwrap(), "{hash}");
    }
}

#[test]
fn unknown_formats() {
    for hash in [
        "",
        "test",
        "$unknown$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6",
        "$2x$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6",
        "$1$TVEiiKNb$SN6/pUaRQS/E8Jh46As2C/",
        "$5$rounds=535000$awpcR7lDlnK/S7WE$vHU7KkQwyjfGz6u4MUi7.lH9htK/l63HloTsX1ZMz.3",
        "$6$abc$def",
        "$argon2d$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw",
        "$pbkdf2-md5$i=1,l=1$c2FsdA$YQ",
        "$pbkdf2-sha1024$i=1,l=1$c2FsdA$YQ",
        "$shaNotExistent$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$6ctpVuApMNp0",
        "$sha384$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$6ctpVuApMNp0",
        "{SSHAnotExistent}xPUl/px+1cG55rUH4rzcwxdOIPSB2TingLpiJJumN2xyDWN4Ix1WQG3ihnvHaWUE8MYNkvMi5rf0C9NYixHsE6Yh59M=",
        "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=",
        "$hmac$ZmU4Njk3Zjc0MmQwODA0MDVkMTI3MGU2MTYzMzE2Zjk=$MTIzNDU=",
        "$hmac-invalid$ZmU4Njk3Zjc0MmQwODA0MDVkMTI3MGU2MTYzMzE2Zjk=$MTIzNDU=",
        " $2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6",
    ] {
        assert!(
            matches!(verify_password(b"test", hash), Err(HashError::UnknownFormat)),
            "{hash:?}"
        );
        assert!(!is_importable(hash), "{hash:?}");
    }
}

#[test]
fn bare_prefixes_are_malformed() {
    for hash in [
        "$2$",
        "$2a$",
        "$2b$",
        "$2y$",
        "$2z$",
        "$argon2id$",
        "$argon2i$",
        "$pbkdf2-sha1$",
        "$pbkdf2-sha224$",
        "$pbkdf2-sha256$",
        "$pbkdf2-sha384$",
        "$pbkdf2-sha512$",
        "$pbkdf2-sha7$",
        "$scrypt$",
        "$firescrypt$",
        "$md5-crypt$",
        "$sha256-crypt$",
        "$sha512-crypt$",
        "$md5$",
        "$sha1$",
        "$sha256$",
        "$sha512$",
        "{SSHA}",
        "{SSHA256}",
        "{SSHA512}",
        "$hmac-md4$",
        "$hmac-md5$",
        "$hmac-sha1$",
        "$hmac-sha224$",
        "$hmac-sha256$",
        "$hmac-sha384$",
        "$hmac-sha512$",
    ] {
        assert!(
            matches!(verify_password(b"test", hash), Err(HashError::Malformed(_))),
            "{hash:?}"
        );
        assert!(!is_importable(hash), "{hash:?}");
    }
}

/// Variants of a hash: every truncation, every single-character deletion, and
/// every position replaced by characters that upset parsers. Replacements are
/// never digits, so no cost parameter can grow.
fn mutants(hash: &str) -> Vec<String> {
    let chars: Vec<char> = hash.chars().collect();
    let mut out = Vec::new();
    for i in 0..chars.len() {
        out.push(chars[..i].iter().collect());
        let mut deleted = chars.clone();
        deleted.remove(i);
        out.push(deleted.into_iter().collect());
        for c in ['$', '=', ',', 'A', '\0', '\n', 'é', '}'] {
            let mut replaced = chars.clone();
            replaced[i] = c;
            out.push(replaced.into_iter().collect());
        }
    }
    out.push(format!("{hash}$"));
    out.push(format!("{hash}="));
    out.push(hash.replace('$', "$$"));
    out
}

#[test]
fn garbage_variants_of_every_prefix_never_panic() {
    let cfgs = [argon2_cfg(), bcrypt_cfg()];
    let own_bcrypt = hash_password(&bcrypt_cfg(), b"test").unwrap();
    let own_argon2 = hash_password(&argon2_cfg(), b"test").unwrap();
    let mut seeds: Vec<&str> = VECTORS
        .iter()
        .map(|(h, _)| *h)
        // Each surviving variant of these would recompute an expensive hash.
        .filter(|h| !h.starts_with("$2a$12$") && !h.starts_with("$argon2i$"))
        .collect();
    seeds.push(&own_bcrypt);
    seeds.push(&own_argon2);
    let mut parsed = 0usize;
    for seed in seeds {
        for m in mutants(seed) {
            let result = verify_password(b"test", &m);
            assert_eq!(result.is_ok(), is_importable(&m), "{m:?}");
            parsed += usize::from(result.is_ok());
            for cfg in &cfgs {
                let _ = needs_rehash(cfg, &m);
            }
        }
    }
    assert!(
        parsed > 0,
        "some variants should still parse and be verified"
    );
}

#[test]
fn random_bytes_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let prefixes = [
        "$2a$04$",
        "$argon2id$v=19$m=8,t=1,p=1$",
        "$pbkdf2-sha1$i=1,l=4$",
        "$scrypt$ln=2,r=1,p=1$",
        "$firescrypt$ln=1,r=1,p=1$",
        "$md5-crypt$",
        "$sha256-crypt$rounds=1000$",
        "$sha512-crypt$",
        "$md5$",
        "$md5$pf=",
        "$sha1$pf=",
        "{SSHA}",
        "{SSHA512}",
        "$hmac-md4$",
    ];
    let alphabet: Vec<char> = "$=,.+/AZaz09{}pf:é\0 ".chars().collect();
    for prefix in prefixes {
        for _ in 0..300 {
            let len = rng.gen_range(0..80);
            let tail: String = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            let hash = format!("{prefix}{tail}");
            let _ = verify_password(b"test", &hash);
            let _ = needs_rehash(&argon2_cfg(), &hash);
        }
    }
}

#[test]
fn hash_password_round_trips() {
    for cfg in [argon2_cfg(), bcrypt_cfg()] {
        let hash = hash_password(&cfg, b"s3cret \xff\x00 bytes").unwrap();
        assert!(is_importable(&hash));
        assert!(verify_password(b"s3cret \xff\x00 bytes", &hash).unwrap());
        assert!(!verify_password(b"s3cret \xff\x00 byte", &hash).unwrap());
        assert!(!needs_rehash(&cfg, &hash));
    }
    let bcrypt = hash_password(&bcrypt_cfg(), b"pw").unwrap();
    assert!(bcrypt.starts_with("$2a$04$"));
    let argon2 = hash_password(&argon2_cfg(), b"pw").unwrap();
    assert!(argon2.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
    let fields: Vec<&str> = argon2.split('$').collect();
    assert_eq!(fields.len(), 6);
    assert_eq!(fields[4].len(), 22, "16-byte salt, unpadded base64");
    assert_eq!(fields[5].len(), 43, "32-byte key, unpadded base64");
}

#[test]
fn bcrypt_refuses_passwords_over_72_bytes() {
    let long = [b'p'; 73];
    assert!(matches!(
        hash_password(&bcrypt_cfg(), &long),
        Err(HashError::PasswordTooLong { max: 72 })
    ));
    let stored = hash_password(&bcrypt_cfg(), &long[..72]).unwrap();
    assert!(verify_password(&long[..72], &stored).unwrap());
    assert!(matches!(
        verify_password(&long, &stored),
        Err(HashError::PasswordTooLong { max: 72 })
    ));
    // argon2 has no such limit.
    let stored = hash_password(&argon2_cfg(), &long).unwrap();
    assert!(verify_password(&long, &stored).unwrap());
}

#[test]
fn needs_rehash_for_bcrypt_config() {
    let cfg = bcrypt_cfg();
    let same = hash_password(&cfg, b"pw").unwrap();
    assert!(!needs_rehash(&cfg, &same));
    // Other bcrypt versions with the same cost are fine.
    assert!(!needs_rehash(&cfg, &same.replacen("$2a$", "$2y$", 1)));
    assert!(!needs_rehash(&cfg, &same.replacen("$2a$", "$2$", 1)));
    // Different cost.
    assert!(needs_rehash(
        &HasherConfig {
            bcrypt_cost: 5,
            ..cfg
        },
        &same
    ));
    assert!(needs_rehash(&cfg, VECTORS[0].0));
    // Other algorithms and garbage.
    assert!(needs_rehash(
        &cfg,
        &hash_password(&argon2_cfg(), b"pw").unwrap()
    ));
    for (hash, _) in &VECTORS[1..] {
        assert!(needs_rehash(&cfg, hash), "{hash}");
    }
    assert!(needs_rehash(&cfg, "garbage"));
    assert!(needs_rehash(&cfg, "$2a$04$short"));
}

#[test]
fn needs_rehash_for_argon2_config() {
    let cfg = argon2_cfg();
    let same = hash_password(&cfg, b"pw").unwrap();
    assert!(!needs_rehash(&cfg, &same));
    let changed = [
        Argon2Params {
            memory_kib: 128,
            ..SMALL_ARGON2
        },
        Argon2Params {
            iterations: 2,
            ..SMALL_ARGON2
        },
        Argon2Params {
            parallelism: 2,
            ..SMALL_ARGON2
        },
        Argon2Params {
            salt_length: 32,
            ..SMALL_ARGON2
        },
        Argon2Params {
            key_length: 16,
            ..SMALL_ARGON2
        },
    ];
    for argon2 in changed {
        assert!(
            needs_rehash(&HasherConfig { argon2, ..cfg }, &same),
            "{argon2:?}"
        );
    }
    // argon2i with matching parameters is still a different algorithm.
    assert!(needs_rehash(
        &cfg,
        &same.replacen("$argon2id$", "$argon2i$", 1)
    ));
    assert!(needs_rehash(
        &cfg,
        &hash_password(&bcrypt_cfg(), b"pw").unwrap()
    ));
    for (hash, _) in VECTORS {
        assert!(needs_rehash(&cfg, hash), "{hash}");
    }
    assert!(needs_rehash(&cfg, "$argon2id$v=19$m=64,t=1,p=1$bad"));
}

#[test]
fn errors_never_echo_secrets() {
    let secret = "Sup3rS3cret";
    let hash = format!("$md5$pf={secret}$$");
    let err = verify_password(secret.as_bytes(), &hash).unwrap_err();
    assert!(!err.to_string().contains(secret));
    assert!(!format!("{err:?}").contains(secret));
}
