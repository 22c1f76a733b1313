//! ostiary::identity::webauthn_keys: a registration's attestation object (CBOR, then the
//! authenticator data sliced by hand) and a stored key set (JSON, base64, then a COSE key).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostiary::identity::webauthn_keys::{key_from_attestation, KeySet};

fuzz_target!(|data: &[u8]| {
    let now = chrono::DateTime::<chrono::Utc>::from_timestamp(1_700_000_000, 0).unwrap();
    if let Ok(key) = key_from_attestation(data, String::new(), true, now) {
        // What is kept is a slice of what was sent, never more.
        assert!(key.public_key.len() < data.len());
        assert!(key.id.len() <= u16::MAX as usize);
        assert_eq!(key.authenticator.as_ref().map(|a| a.aaguid.len()), Some(16));
    }
    if let Ok(config) = serde_json::from_slice::<serde_json::Value>(data) {
        let set = KeySet::from_config(&config);
        for key in &set.credentials {
            let _ = key.to_core(None);
        }
        // What was read writes back and reads again as the same keys.
        let again = KeySet::from_config(&set.to_config());
        assert_eq!(again.credentials.len(), set.credentials.len());
    }
});
