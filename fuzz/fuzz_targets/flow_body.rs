//! ostiary::http::flow_request::parse_body: every self-service flow submission (JSON or form).
//! Input: one byte choosing the Content-Type, then the body. A successful parse is a JSON object.
#![no_main]

use http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

const TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "text/plain",
    "application/x-www-form-urlencoded; charset=utf-8",
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    let ct = TYPES[sel as usize % TYPES.len()];
    if !ct.is_empty() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if let Ok(v) = ostiary::http::flow_request::parse_body(&headers, body) {
        assert!(v.is_object());
    }
});
