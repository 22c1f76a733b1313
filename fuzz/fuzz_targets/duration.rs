//! ostiary::time::parse_duration: Go-style durations from configs and API bodies (`expires_in`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(d) = ostiary::time::parse_duration(text) {
        if !text.trim().starts_with('-') {
            assert!(d >= chrono::Duration::zero(), "{text:?} parsed as negative {d}");
        }
    }
});
