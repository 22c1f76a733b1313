//! `listIdentitySchemas` and `getIdentitySchema`.

use super::error::json_response;
use super::pagination::Keyset;
use crate::error::{Error, Result};
use crate::registry::Registry;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;

pub async fn list_identity_schemas(
    State(r): State<Registry>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response> {
    let all: Vec<Value> = r
        .schemas
        .iter()
        .map(|s| json!({"id": s.id, "schema": s.raw}))
        .collect();
    let page = Keyset::parse(
        q.get("page_size").or(q.get("per_page")).map(String::as_str),
        None,
        250,
        1000,
    )?;
    let page_no: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let start = page_no.saturating_mul(page.size as usize);
    let body: Vec<Value> = all
        .into_iter()
        .skip(start)
        .take(page.size as usize)
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(body)))
}

pub async fn get_identity_schema(
    State(r): State<Registry>,
    Path(id): Path<String>,
) -> Result<Response> {
    let schema = r
        .schemas
        .get(&id)
        .ok_or_else(|| Error::not_found_reason("unable to fetch schema"))?;
    Ok(json_response(StatusCode::OK, &schema.raw))
}
