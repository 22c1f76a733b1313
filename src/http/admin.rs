//! The admin route table: every admin endpoint on one screen, paths verbatim from Kratos.

use super::{courier, health, identities, recovery, schemas, sessions};
use crate::registry::Registry;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post};
use axum::Router;

pub fn router(r: Registry) -> Router {
    Router::new()
        .route("/admin/health/alive", get(health::is_alive))
        .route("/admin/health/ready", get(health::is_ready_admin))
        .route("/admin/version", get(health::get_version))
        .route(
            "/admin/identities",
            get(identities::list_identities)
                .post(identities::create_identity)
                .patch(identities::batch_patch_identities),
        )
        .route(
            "/admin/identities/{id}",
            get(identities::get_identity)
                .put(identities::update_identity)
                .patch(identities::patch_identity)
                .delete(identities::delete_identity),
        )
        .route(
            "/admin/identities/by/external/{external_id}",
            get(identities::get_identity_by_external_id),
        )
        .route(
            "/admin/identities/{id}/credentials/{type}",
            delete(identities::delete_identity_credentials),
        )
        .route("/admin/sessions", get(sessions::list_sessions))
        .route(
            "/admin/sessions/{id}",
            get(sessions::get_session).delete(sessions::disable_session),
        )
        .route(
            "/admin/sessions/{id}/extend",
            patch(sessions::extend_session),
        )
        .route(
            "/admin/identities/{id}/sessions",
            get(sessions::list_identity_sessions).delete(sessions::delete_identity_sessions),
        )
        .route(
            "/admin/recovery/code",
            post(recovery::create_recovery_code_for_identity),
        )
        .route(
            "/admin/recovery/link",
            post(recovery::create_recovery_link_for_identity),
        )
        .route(
            "/admin/courier/messages",
            get(courier::list_courier_messages),
        )
        .route(
            "/admin/courier/messages/{id}",
            get(courier::get_courier_message),
        )
        .route("/admin/schemas", get(schemas::list_identity_schemas))
        .route("/admin/schemas/{id}", get(schemas::get_identity_schema))
        .fallback(super::not_found)
        .method_not_allowed_fallback(super::method_not_allowed)
        .layer(axum::middleware::from_fn(super::no_cache))
        .layer(DefaultBodyLimit::max(super::MAX_BODY_BYTES))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            super::body_timeout(&r),
        ))
        .with_state(r)
}
