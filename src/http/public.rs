//! The public route table: every public endpoint on one screen, paths verbatim from Kratos.

use super::{
    flow_request, health, logout, schemas, selfservice, selfservice_more as more, sessions,
};
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
            "/sessions/token-exchange",
            get(sessions::exchange_session_token),
        )
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
            "/self-service/settings/browser",
            get(selfservice::create_browser_settings_flow),
        )
        .route(
            "/self-service/settings/api",
            get(selfservice::create_native_settings_flow),
        )
        .route(
            "/self-service/settings/flows",
            get(selfservice::get_settings_flow),
        )
        .route(
            "/self-service/settings",
            axum::routing::post(more::update_settings_flow),
        )
        .route(
            "/self-service/recovery/browser",
            get(selfservice::create_browser_recovery_flow),
        )
        .route(
            "/self-service/recovery/api",
            get(selfservice::create_native_recovery_flow),
        )
        .route(
            "/self-service/recovery/flows",
            get(selfservice::get_recovery_flow),
        )
        .route(
            "/self-service/recovery",
            axum::routing::post(more::update_recovery_flow).get(more::recovery_link),
        )
        .route(
            "/self-service/verification/browser",
            get(selfservice::create_browser_verification_flow),
        )
        .route(
            "/self-service/verification/api",
            get(selfservice::create_native_verification_flow),
        )
        .route(
            "/self-service/verification/flows",
            get(selfservice::get_verification_flow),
        )
        .route(
            "/self-service/verification",
            axum::routing::post(more::update_verification_flow).get(more::verification_link),
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
        .method_not_allowed_fallback(super::method_not_allowed)
        .layer(axum::middleware::from_fn(super::no_cache))
        .layer(DefaultBodyLimit::max(super::MAX_BODY_BYTES))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            super::body_timeout(&r),
        ))
        .with_state(r);
    if cors.enabled {
        let patterns = std::sync::Arc::new(cors.allowed_origins.clone());
        router
            .layer(super::cors::layer(&cors))
            .layer(axum::middleware::from_fn_with_state(
                patterns,
                super::cors::strip_for_disallowed,
            ))
    } else {
        router
    }
}
