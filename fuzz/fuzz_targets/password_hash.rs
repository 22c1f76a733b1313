//! ostiary::hash: `is_importable(hash)` (the admin import path) and `verify_password(password,
//! hash)` (every login against an imported hash). Input: password, a 0 byte, then the hash string.
//! Neither may panic; a hash that is not importable must not verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostiary::hash;

fuzz_target!(|data: &[u8]| {
    let (password, hash_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"password"[..], data),
    };
    let Ok(h) = std::str::from_utf8(hash_bytes) else {
        return;
    };
    let importable = hash::is_importable(h);
    let verified = hash::verify_password(password, h);
    if !importable {
        assert!(
            !matches!(verified, Ok(true)),
            "a hash refused at import verified a password: {h:?}"
        );
    }
});
