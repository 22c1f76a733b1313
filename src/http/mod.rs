//! HTTP: the public and admin routers, their middleware, and the edge where errors become JSON.
//! Only this module (and `cli`) imports axum.

pub mod admin;
pub mod auth;
pub mod cors;
pub mod courier;
pub mod error;
pub mod extract;
pub mod flow_request;
pub mod health;
pub mod identities;
pub mod logout;
pub mod pagination;
pub mod public;
pub mod schemas;
pub mod selfservice;
pub mod selfservice_more;
pub mod session_cookie;
pub mod sessions;

use crate::registry::Registry;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::Response;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Every request body is capped at 5 MiB, as Kratos caps it.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// Run both listeners until `shutdown` resolves, then drain in-flight requests.
pub async fn serve(
    registry: Registry,
    public: TcpListener,
    admin: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let public_app = public::router(registry.clone());
    let admin_app = admin::router(registry);
    let public_srv = axum::serve(
        public,
        public_app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(wait(rx.clone()));
    let admin_srv = axum::serve(
        admin,
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(
            tower::ServiceExt::<Request>::map_request(admin_app, admin_prefix),
        ),
    )
    .with_graceful_shutdown(wait(rx));
    let trigger = async move {
        shutdown.await;
        let _ = tx.send(true);
    };
    let (a, b, _) = tokio::join!(
        async { public_srv.await },
        async { admin_srv.await },
        trigger
    );
    a.and(b)
}

/// On the admin listener every path that does not start with `/admin` is served as `/admin/<path>`
/// (so `/identities` ≡ `/admin/identities`), as Kratos does.
fn admin_prefix(mut req: Request<Body>) -> Request<Body> {
    let path = req.uri().path();
    if path != "/admin" && !path.starts_with("/admin/") {
        let pq = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        if let Ok(uri) = format!("/admin{pq}").parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// `Cache-Control: private, no-cache, no-store, must-revalidate` on every GET answer (Kratos does).
pub async fn no_cache(req: Request, next: Next) -> Response {
    let is_get = req.method() == Method::GET;
    let mut res = next.run(req).await;
    if is_get && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache, no-store, must-revalidate"),
        );
    }
    res
}

/// Unknown paths answer 404 in the Kratos error shape; wrong methods 405.
pub async fn not_found() -> crate::error::Error {
    crate::error::Error::not_found_reason("The requested path does not exist.")
}

/// A known path with the wrong method: 405 in the Kratos error shape.
pub async fn method_not_allowed() -> crate::error::Error {
    crate::error::ApiError::new(405)
        .with_reason("The requested method is not allowed on this path.")
        .with_message("Method not allowed")
        .into()
}
