//! Health and version: `/health/alive`, `/health/ready` (database and migrations), `/version`.

use super::error::json_response;
use crate::error::ApiError;
use crate::registry::Registry;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn is_alive() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

/// Readiness on the admin port shows the failing check; the public port hides its details.
async fn ready(r: &Registry, obfuscate: bool) -> Response {
    let problem = match r.persister.ping().await {
        Err(e) => Some(format!("database: {e}")),
        Ok(()) => match r.persister.pending_migrations().await {
            Ok(p) if p.is_empty() => None,
            Ok(p) => Some(format!("migrations: {} pending", p.len())),
            Err(e) => Some(format!("migrations: {e}")),
        },
    };
    match problem {
        None => json_response(StatusCode::OK, &json!({"status": "ok"})),
        Some(p) => {
            let reason = if obfuscate {
                "error may contain sensitive information and was obfuscated".to_string()
            } else {
                p
            };
            crate::error::Error::from(ApiError::new(503).with_reason(reason)).into_response()
        }
    }
}

pub async fn is_ready_public(State(r): State<Registry>) -> Response {
    ready(&r, true).await
}

pub async fn is_ready_admin(State(r): State<Registry>) -> Response {
    ready(&r, false).await
}

pub async fn get_version() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"version": env!("CARGO_PKG_VERSION")}),
    )
}
