//! CORS on the public API exactly as `serve.public.cors.*` configures it, so single-page apps on
//! another origin can run the browser flows with `credentials: 'include'`.
//!
//! Security: the `null` origin (sandboxed iframes, `data:` and `file:` documents, some redirects)
//! is never allowed, whatever the configuration says: any site can make its request carry
//! `Origin: null`, so echoing it with credentials would hand the visitor's session to that site.
//! Kratos's defaults once CORS is enabled (`allowed_origins: ["*"]`, credentials on) still let
//! every real origin read responses with the visitor's cookies; such a configuration starts, with
//! one warning line ([`permissive_warning`]).

use crate::config::Cors;
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Whether an origin matches one configured entry (`*`, an exact origin, or one `*` wildcard such as
/// `https://*.example.com`).
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    if origin.trim().eq_ignore_ascii_case("null") {
        return false;
    }
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

/// Whether an entry of `allowed_origins` lets in every site of some scheme or all of them (`*`,
/// `https://*`).
fn is_any_site(pattern: &str) -> bool {
    match pattern.split_once('*') {
        Some((prefix, suffix)) => {
            suffix.is_empty() && (prefix.is_empty() || prefix.ends_with("://"))
        }
        None => false,
    }
}

/// The one start-up warning for a CORS configuration that lets any web site read the public API's
/// responses with the visitor's cookies (enabled, an any-site origin, credentials on), outside
/// `--dev`.
pub fn permissive_warning(c: &Cors, dev: bool) -> Option<String> {
    if !c.enabled || !c.allow_credentials || dev {
        return None;
    }
    let wide = c.allowed_origins.iter().find(|p| is_any_site(p))?;
    Some(format!(
        "serve.public.cors: allowed_origins {wide:?} with allow_credentials true lets any web site read the public API's responses with the visitor's cookies (their session, identity and flows); list your app's origins instead, e.g. allowed_origins: [\"https://app.example.com\"]"
    ))
}

pub fn layer(c: &Cors) -> CorsLayer {
    let patterns = c.allowed_origins.clone();
    let debug = c.debug;
    // With credentials a literal `*` is not allowed by browsers: echo the matching origin instead.
    let allow_origin = AllowOrigin::predicate(move |origin: &HeaderValue, parts| {
        let allowed = origin
            .to_str()
            .map(|o| patterns.iter().any(|p| origin_matches(p, o)))
            .unwrap_or(false);
        if debug {
            // `serve.public.cors.debug`: one line per decision, at info so that it shows at the
            // default level once the operator has asked for it.
            tracing::info!(
                origin = %String::from_utf8_lossy(origin.as_bytes()),
                method = %parts.method,
                path = %parts.uri.path(),
                allowed,
                "cors: origin {}",
                if allowed { "allowed" } else { "refused" }
            );
        }
        allowed
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

    #[test]
    fn the_null_origin_matches_nothing() {
        for pattern in ["*", "null", "*null", "https://*"] {
            assert!(!origin_matches(pattern, "null"), "{pattern}");
            assert!(!origin_matches(pattern, "NULL"), "{pattern}");
        }
    }

    #[test]
    fn the_warning_names_any_site_origins_with_credentials() {
        use super::permissive_warning;
        use crate::config::Cors;
        let on = |origins: &[&str]| Cors {
            enabled: true,
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            ..Cors::default()
        };
        assert!(permissive_warning(&on(&["*"]), false).is_some());
        assert!(
            permissive_warning(&on(&["https://app.example.com", "https://*"]), false).is_some()
        );
        assert!(permissive_warning(&on(&["https://*.example.com"]), false).is_none());
        assert!(permissive_warning(&on(&["*"]), true).is_none(), "--dev");
        let mut no_credentials = on(&["*"]);
        no_credentials.allow_credentials = false;
        assert!(permissive_warning(&no_credentials, false).is_none());
        assert!(
            permissive_warning(&Cors::default(), false).is_none(),
            "disabled"
        );
    }
}
