//! CORS on the public API exactly as `serve.public.cors.*` configures it, so single-page apps on
//! another origin can run the browser flows with `credentials: 'include'`.

use crate::config::Cors;
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Whether an origin matches one configured entry (`*`, an exact origin, or one `*` wildcard such as
/// `https://*.example.com`).
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(origin),
        Some((prefix, suffix)) => {
            origin.len() >= prefix.len() + suffix.len()
                && origin[..prefix.len()].eq_ignore_ascii_case(prefix)
                && origin[origin.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        }
    }
}

pub fn layer(c: &Cors) -> CorsLayer {
    let patterns = c.allowed_origins.clone();
    // With credentials a literal `*` is not allowed by browsers: echo the matching origin instead.
    let allow_origin = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        origin
            .to_str()
            .map(|o| patterns.iter().any(|p| origin_matches(p, o)))
            .unwrap_or(false)
    });
    let methods: Vec<Method> = c
        .allowed_methods
        .iter()
        .filter_map(|m| m.parse().ok())
        .collect();
    let headers: Vec<HeaderName> = c
        .allowed_headers
        .iter()
        .filter_map(|h| h.parse().ok())
        .collect();
    let exposed: Vec<HeaderName> = c
        .exposed_headers
        .iter()
        .filter_map(|h| h.parse().ok())
        .collect();
    let mut layer = CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods(methods)
        .allow_headers(headers)
        .expose_headers(exposed)
        .allow_credentials(c.allow_credentials);
    if c.max_age > 0 {
        layer = layer.max_age(std::time::Duration::from_secs(c.max_age));
    }
    layer
}

/// Strip every CORS header from answers to origins that are not allowed, so such origins learn
/// nothing (the CORS layer itself still adds the method and header lists to their preflights).
pub async fn strip_for_disallowed(
    axum::extract::State(patterns): axum::extract::State<std::sync::Arc<Vec<String>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let allowed = req
        .headers()
        .get(axum::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(|o| patterns.iter().any(|p| origin_matches(p, o)))
        .unwrap_or(true);
    let mut res = next.run(req).await;
    if !allowed {
        let names: Vec<HeaderName> = res
            .headers()
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for n in names {
            res.headers_mut().remove(n);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::origin_matches;

    #[test]
    fn origin_patterns() {
        assert!(origin_matches("*", "https://a.com"));
        assert!(origin_matches(
            "https://app.example.com",
            "https://app.example.com"
        ));
        assert!(!origin_matches(
            "https://app.example.com",
            "https://evil.com"
        ));
        assert!(origin_matches(
            "https://*.example.com",
            "https://a.example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "https://example.com.evil.io"
        ));
    }
}
