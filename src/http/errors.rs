//! `GET /self-service/errors?id=`: the stored errors a browser was sent to the error UI with.

use super::error::{error_body, json_response};
use crate::error::{ApiError, Error, Result};
use crate::registry::Registry;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

/// `GET /self-service/errors?id=`: a stored error (`stub:500` is a canned example).
pub async fn get_flow_error(
    axum::extract::State(r): axum::extract::State<Registry>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response> {
    let id = q
        .get("id")
        .or_else(|| q.get("error"))
        .ok_or_else(Error::not_found)?;
    if id == "stub:500" {
        let now = crate::time::rfc3339(&r.clock.now());
        let body = error_body(
            &ApiError::new(500).with_reason("This is a stub error."),
            None,
        )["error"]
            .clone();
        return Ok(json_response(
            StatusCode::OK,
            &json!({"id": id, "error": body, "created_at": now, "updated_at": now}),
        ));
    }
    // As in Kratos, an id that is no UUID names no error: 404, like an unknown one.
    let uuid = uuid::Uuid::parse_str(id).map_err(|_| Error::not_found())?;
    let (error, at) = r
        .persister
        .get_error(uuid)
        .await?
        .ok_or_else(Error::not_found)?;
    let at = crate::time::rfc3339(&crate::time::from_micros(at));
    Ok(json_response(
        StatusCode::OK,
        &json!({"id": uuid, "error": error, "created_at": at, "updated_at": at}),
    ))
}
