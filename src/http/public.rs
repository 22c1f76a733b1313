//! The public route table: every public endpoint on one screen, paths verbatim from Kratos.

use super::{flow_request, health, logout, schemas, selfservice, sessions};
use crate::registry::Registry;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, delete, get};
use axum::Router;

pub fn router(r: Registry) -> Router {
    let cors = r.config.serve.public.cors.clone();
    let router = Router::new()
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
        .route(
            "/self-service/login/browser",
            get(selfservice::create_browser_login_flow),
        )
        .route(
            "/self-service/login/api",
            get(selfservice::create_native_login_flow),
        )
        .route(
            "/self-service/login/flows",
            get(selfservice::get_login_flow),
        )
        .route(
            "/self-service/login",
            axum::routing::post(selfservice::update_login_flow),
        )
        .route(
            "/self-service/registration/browser",
            get(selfservice::create_browser_registration_flow),
        )
        .route(
            "/self-service/registration/api",
            get(selfservice::create_native_registration_flow),
        )
        .route(
            "/self-service/registration/flows",
            get(selfservice::get_registration_flow),
        )
        .route(
            "/self-service/registration",
            axum::routing::post(selfservice::update_registration_flow),
        )
        .route(
            "/self-service/logout/browser",
            get(logout::create_browser_logout_flow),
        )
        .route(
            "/self-service/logout/api",
            delete(logout::perform_native_logout),
        )
        .route("/self-service/logout", get(logout::update_logout_flow))
        .route("/self-service/errors", get(flow_request::get_flow_error))
        .route("/schemas", get(schemas::list_identity_schemas))
        .route("/schemas/{id}", get(schemas::get_identity_schema))
        .route("/admin/schemas", get(schemas::list_identity_schemas))
        .route("/admin/schemas/{id}", get(schemas::get_identity_schema))
        .fallback(super::not_found)
        .layer(axum::middleware::from_fn(super::no_cache))
        .layer(DefaultBodyLimit::max(super::MAX_BODY_BYTES))
        .with_state(r);
    if cors.enabled {
        router.layer(super::cors::layer(&cors))
    } else {
        router
    }
}
