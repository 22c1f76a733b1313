//! HTTP: the public and admin routers, their middleware, and the edge where errors become JSON.
//! Only this module (and `cli`) imports axum.

pub mod admin;
pub mod auth;
pub mod cors;
pub mod courier;
pub mod error;
pub mod errors;
pub mod extract;
pub mod flow_init;
pub mod flow_request;
mod flow_submit;
pub mod health;
pub mod identities;
pub mod login;
pub mod logout;
pub mod pagination;
pub mod public;
pub mod recovery;
pub mod registration;
pub mod schemas;
pub mod session_cookie;
pub mod sessions;
pub mod settings;
pub mod verification;
pub mod webauthn_js;

use crate::registry::Registry;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::Response;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// Every request body is capped at 5 MiB, as Kratos caps it.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// How long a client may take to send its request body (`ostiary.limits.body_read_timeout`).
pub fn body_timeout(r: &Registry) -> Duration {
    r.config
        .ostiary
        .limits
        .body_read_timeout
        .0
        .to_std()
        .unwrap_or(Duration::from_secs(30))
}

/// Run both listeners until `shutdown` resolves, then drain in-flight requests.
pub async fn serve(
    registry: Registry,
    public: TcpListener,
    admin: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let header_timeout = registry
        .config
        .ostiary
        .limits
        .header_read_timeout
        .0
        .to_std()
        .unwrap_or(Duration::from_secs(10));
    let public_app = public::router(registry.clone());
    let admin_app =
        tower::ServiceExt::<Request>::map_request(admin::router(registry), admin_prefix);
    let trigger = async move {
        shutdown.await;
        let _ = tx.send(true);
    };
    let (a, b, _) = tokio::join!(
        accept_loop(public, public_app, rx.clone(), header_timeout),
        accept_loop(admin, admin_app, rx, header_timeout),
        trigger
    );
    a.and(b)
}

/// Accept connections and serve them with HTTP/1.1 and HTTP/2, a header read timeout, and the
/// client's socket address available to handlers; on shutdown stop accepting and let open
/// connections finish their requests.
async fn accept_loop<S>(
    listener: TcpListener,
    app: S,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    header_timeout: Duration,
) -> std::io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, addr) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let svc = tower::ServiceExt::<Request>::map_request(app.clone(), move |mut req: Request| {
                    req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
                    req
                });
                let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let svc = svc.clone();
                    async move { tower::ServiceExt::oneshot(svc, req.map(Body::new)).await }
                });
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = until_true(&mut shutdown) => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Resolve once the watched flag turns true (or its sender is gone).
async fn until_true(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
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
