//! ostiary::http::session_cookie: `decode` (the session cookie value) and `from_request` (the
//! Cookie header). A Registry is built once (in-memory SQLite, a known cookie secret).
//! Input: one mode byte, then
//!   0: a cookie value, decoded as it is (it must not verify: the fuzzer cannot sign);
//!   1: a payload, signed with the secret, so the JSON inside is parsed;
//!   2: a Cookie header;
//!   3: a token: encode then decode must round-trip.
#![no_main]

use base64::Engine;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use ostiary::http::session_cookie;
use ostiary::registry::Registry;
use sha2::Sha256;
use std::sync::OnceLock;

const SECRET: &str = "fuzz-cookie-secret-0123456789abcdef";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn registry() -> &'static Registry {
    static R: OnceLock<(tokio::runtime::Runtime, Registry)> = OnceLock::new();
    &R.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let config = ostiary::config::Config::from_value(serde_json::json!({
            "dev": true,
            "dsn": "memory",
            "serve": {
                "public": {"base_url": "http://127.0.0.1:4433/"},
                "admin": {"base_url": "http://127.0.0.1:4434/"}
            },
            "secrets": {"cookie": [SECRET]}
        }))
        .expect("config");
        let r = rt.block_on(Registry::build(config)).expect("registry");
        (rt, r)
    })
    .1
}

fn sign(payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    format!("{payload}.{}", B64.encode(mac.finalize().into_bytes()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let r = registry();
    let text = String::from_utf8_lossy(rest);
    match mode % 4 {
        0 => {
            if let Some((payload, _)) = text.split_once('.') {
                if session_cookie::decode(r, &text).is_some() {
                    assert_eq!(sign(payload), text, "an unsigned cookie verified");
                }
            }
        }
        1 => {
            let _ = session_cookie::decode(r, &sign(&B64.encode(rest)));
            let _ = session_cookie::decode(r, &sign(&text));
        }
        2 => {
            if let Ok(v) = HeaderValue::from_bytes(rest) {
                let mut h = HeaderMap::new();
                h.insert("cookie", v);
                let _ = session_cookie::from_request(r, &h);
            }
        }
        _ => {
            let expires = chrono::DateTime::from_timestamp(1_900_000_000, 123_000).unwrap();
            let value = session_cookie::encode(r, &text, expires);
            let back = session_cookie::decode(r, &value).expect("own cookie decodes");
            assert_eq!(back.token, text);
            assert_eq!(back.expires_at_micros, expires.timestamp_micros());
        }
    }
});
