//! The HTTP edge of errors: `Error` → the Kratos JSON envelope, and JSON bodies written the way
//! Kratos (Go's encoder) writes them.

use crate::error::{ApiError, Error};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// A JSON body with the given status, `<`, `>` and `&` escaped as Go's encoder does, trailing newline.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    bytes_response(status, json_bytes(body))
}

pub use crate::json::json_bytes;

/// A JSON answer from an already encoded body (see [`json_bytes`]).
pub fn bytes_response(status: StatusCode, body: axum::body::Bytes) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

/// The Kratos error object for an API error.
pub fn error_body(e: &ApiError, request_id: Option<&str>) -> Value {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut inner = Map::new();
    if let Some(id) = e.id {
        inner.insert("id".into(), id.into());
    }
    inner.insert("code".into(), e.code.into());
    inner.insert(
        "status".into(),
        status.canonical_reason().unwrap_or("Error").into(),
    );
    if let Some(r) = request_id {
        inner.insert("request".into(), r.into());
    }
    if let Some(r) = &e.reason {
        inner.insert("reason".into(), r.clone().into());
    }
    if let Some(d) = &e.details {
        inner.insert("details".into(), Value::Object(d.clone()));
    }
    if let Some(d) = &e.debug {
        inner.insert("debug".into(), d.clone().into());
    }
    inner.insert(
        "message".into(),
        e.message
            .clone()
            .unwrap_or_else(|| ApiError::default_message(e.code).to_string())
            .into(),
    );
    let mut outer = Map::new();
    outer.insert("error".into(), Value::Object(inner));
    if let Some(extra) = &e.extra {
        for (k, v) in extra {
            outer.insert(k.clone(), v.clone());
        }
    }
    Value::Object(outer)
}

/// What the client is told of an error: its status, id and texts. Unexpected failures become the
/// generic 500; their details stay in the log.
pub fn to_api(e: Error) -> ApiError {
    match e {
        Error::Api(e) => *e,
        Error::Conflict(reason) => ApiError::new(409).with_reason(reason),
        Error::Stale => ApiError::new(409).with_reason(
            "The identity was changed by another request at the same time. Please try again.",
        ),
        other => {
            tracing::error!(error = %other, "internal error");
            ApiError::new(500)
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let api = to_api(self);
        let status = StatusCode::from_u16(api.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = json_response(status, &error_body(&api, None));
        for (name, value) in &api.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                res.headers_mut().insert(*name, v);
            }
        }
        res
    }
}
