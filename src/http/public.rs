//! The public route table: every public endpoint on one screen, paths verbatim from Kratos.

use super::{
    errors, flow_init, health, login, logout, recovery, registration, schemas, sessions, settings,
    verification, webauthn_js,
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
        .route(
            "/.well-known/ory/webauthn.js",
            get(webauthn_js::get_webauthn_js),
        )
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
            get(flow_init::create_browser_login_flow),
        )
        .route(
            "/self-service/login/api",
            get(flow_init::create_native_login_flow),
        )
        .route("/self-service/login/flows", get(flow_init::get_login_flow))
        .route(
            "/self-service/login",
            axum::routing::post(login::update_login_flow),
        )
        .route(
            "/self-service/registration/browser",
            get(flow_init::create_browser_registration_flow),
        )
        .route(
            "/self-service/registration/api",
            get(flow_init::create_native_registration_flow),
        )
        .route(
            "/self-service/registration/flows",
            get(flow_init::get_registration_flow),
        )
        .route(
            "/self-service/registration",
            axum::routing::post(registration::update_registration_flow),
        )
        .route(
            "/self-service/settings/browser",
            get(flow_init::create_browser_settings_flow),
        )
        .route(
            "/self-service/settings/api",
            get(flow_init::create_native_settings_flow),
        )
        .route(
            "/self-service/settings/flows",
            get(flow_init::get_settings_flow),
        )
        .route(
            "/self-service/settings",
            axum::routing::post(settings::update_settings_flow),
        )
        .route(
            "/self-service/recovery/browser",
            get(flow_init::create_browser_recovery_flow),
        )
        .route(
            "/self-service/recovery/api",
            get(flow_init::create_native_recovery_flow),
        )
        .route(
            "/self-service/recovery/flows",
            get(flow_init::get_recovery_flow),
        )
        .route(
            "/self-service/recovery",
            axum::routing::post(recovery::update_recovery_flow).get(recovery::recovery_link),
        )
        .route(
            "/self-service/verification/browser",
            get(flow_init::create_browser_verification_flow),
        )
        .route(
            "/self-service/verification/api",
            get(flow_init::create_native_verification_flow),
        )
        .route(
            "/self-service/verification/flows",
            get(flow_init::get_verification_flow),
        )
        .route(
            "/self-service/verification",
            axum::routing::post(verification::update_verification_flow)
                .get(verification::verification_link),
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
        .route("/self-service/errors", get(errors::get_flow_error))
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
