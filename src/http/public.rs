//! The public route table: every public endpoint on one screen, paths verbatim from Kratos.

use super::{health, schemas, sessions};
use crate::registry::Registry;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use axum::Router;

pub fn router(r: Registry) -> Router {
    Router::new()
        .route("/health/alive", get(health::is_alive))
        .route("/health/ready", get(health::is_ready_public))
        .route("/sessions/whoami", any(sessions::to_session))
        .route(
            "/sessions",
            get(sessions::list_my_sessions).delete(sessions::disable_my_other_sessions),
        )
        .route(
            "/sessions/{id}",
            axum::routing::delete(sessions::disable_my_session),
        )
        .route("/schemas", get(schemas::list_identity_schemas))
        .route("/schemas/{id}", get(schemas::get_identity_schema))
        .route("/admin/schemas", get(schemas::list_identity_schemas))
        .route("/admin/schemas/{id}", get(schemas::get_identity_schema))
        .fallback(super::not_found)
        .layer(axum::middleware::from_fn(super::no_cache))
        .layer(DefaultBodyLimit::max(super::MAX_BODY_BYTES))
        .with_state(r)
}
