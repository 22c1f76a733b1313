//! ostiary::selfservice::csrf: `verify(submitted, secret)` and `decode_secret(cookie)` on raw input.
//! Input: 32 bytes of secret, then the submitted token (lossy UTF-8).
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use ostiary::selfservice::csrf;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = csrf::decode_secret(&text);
    if data.len() < csrf::SECRET_LEN {
        let _ = csrf::verify(&text, data);
        return;
    }
    let (secret, rest) = data.split_at(csrf::SECRET_LEN);
    let submitted = String::from_utf8_lossy(rest);
    let ok = csrf::verify(&submitted, secret);
    // Only a token that decodes to the secret itself (raw) or to pad ‖ pad^secret (masked) verifies.
    if ok {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(submitted.trim())
            .expect("a verified token is base64");
        let unmasked: Vec<u8> = if raw.len() == 2 * csrf::SECRET_LEN {
            raw[..32].iter().zip(&raw[32..]).map(|(p, m)| p ^ m).collect()
        } else {
            raw
        };
        assert_eq!(unmasked, secret, "verify accepted a token for another secret");
    }
    // Round trips: the masked and the raw form of the secret always verify.
    assert!(csrf::verify(&csrf::mask(secret), secret));
    let raw = base64::engine::general_purpose::STANDARD.encode(secret);
    assert!(csrf::verify(&raw, secret));
    assert_eq!(csrf::decode_secret(&raw).as_deref(), Some(secret));
});
