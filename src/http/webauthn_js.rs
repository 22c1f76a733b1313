//! `GET /.well-known/ory/webauthn.js`: the ceremony script of the WebAuthn and passkey methods
//! (always routed, as in Kratos). Pages load it with `crossorigin="anonymous"` and its integrity
//! hash, so any origin may fetch it; the ETag is that hash, so a cache never serves old bytes
//! under a new hash.

use crate::selfservice::webauthn_script;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn get_webauthn_js(headers: HeaderMap) -> Response {
    let etag = format!("\"{}\"", webauthn_script::integrity());
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        webauthn_script::SOURCE.into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=UTF-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}
