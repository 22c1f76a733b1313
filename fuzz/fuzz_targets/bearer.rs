//! ostiary::http::auth::bearer: the `Authorization: Bearer <token>` header.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("authorization", value);
    if let Some(token) = ostiary::http::auth::bearer(&headers) {
        assert!(!token.is_empty() && !token.contains(' '));
        let v = headers["authorization"].to_str().unwrap();
        assert!(v.len() == 7 + token.len() && v[..7].eq_ignore_ascii_case("bearer ") && v.ends_with(&token));
    }
});
