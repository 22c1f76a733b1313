//! Pagination as Kratos does it: keyset pages (`page_size`, `page_token`, `Link` first/next), the
//! legacy offset pages (`page`, `per_page`, `Link` + `X-Total-Count`), and the "migration"
//! pagination of the per-identity session lists.

use crate::error::{ApiError, Error, Result};
use base64::Engine;

pub struct Keyset {
    pub size: i64,
    pub token: Option<String>,
}

pub fn invalid_token() -> Error {
    ApiError::new(400)
        .with_reason("The page token is invalid, do not craft your own page tokens")
        .into()
}

impl Keyset {
    pub fn parse(
        size: Option<&str>,
        token: Option<&str>,
        default: i64,
        max: i64,
    ) -> Result<Keyset> {
        let size = match size.filter(|s| !s.is_empty()) {
            None => default,
            Some(s) => match s
                .parse::<i64>()
                .map_err(|_| Error::bad_request("The page_size parameter must be a number."))?
            {
                n if n < 1 => default,
                n => n.min(max),
            },
        };
        Ok(Keyset {
            size,
            token: token.filter(|t| !t.is_empty()).map(str::to_string),
        })
    }
}

fn url_with(base: &str, pairs: &[(String, String)], set: &[(&str, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    let mut all: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
        .cloned()
        .collect();
    all.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
    all.sort();
    for (k, v) in &all {
        ser.append_pair(k, v);
    }
    format!("{base}?{}", ser.finish())
}

/// `Link` for keyset pages: always `first`, plus `next` when more rows exist.
pub fn keyset_link(
    base: &str,
    pairs: &[(String, String)],
    size: i64,
    next: Option<&str>,
) -> String {
    let clean: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "page_token" && k != "page_size" && k != "per_page" && k != "page")
        .cloned()
        .collect();
    let mut parts = vec![format!(
        "<{}>; rel=\"first\"",
        url_with(base, &clean, &[("page_size", size.to_string())])
    )];
    if let Some(n) = next {
        parts.push(format!(
            "<{}>; rel=\"next\"",
            url_with(
                base,
                &clean,
                &[
                    ("page_size", size.to_string()),
                    ("page_token", n.to_string())
                ]
            )
        ));
    }
    parts.join(",")
}

/// `Link` for offset pages (0-based `page`).
pub fn page_link(
    base: &str,
    pairs: &[(String, String)],
    page: i64,
    per_page: i64,
    total: i64,
) -> String {
    let last = if total == 0 {
        0
    } else {
        (total - 1) / per_page
    };
    let link = |p: i64, rel: &str| {
        format!(
            "<{}>; rel=\"{rel}\"",
            url_with(
                base,
                pairs,
                &[("page", p.to_string()), ("per_page", per_page.to_string())]
            )
        )
    };
    let mut parts = vec![link(0, "first")];
    if page < last {
        parts.push(link(page + 1, "next"));
    }
    if page > 0 {
        parts.push(link(page - 1, "prev"));
    }
    parts.push(link(last, "last"));
    parts.join(",")
}

/// The per-identity session lists accept either `page_size`/`page_token` (token = base64url of
/// `{"offset":"<n>","v":2}`) or `page`/`per_page`. Returns (offset, size).
///
/// Kratos maps `page=0` and `page=1` both to the first page and so repeats its first page when a
/// client follows `next`; here `page` is 0-based and every page is distinct (see DIFFERENCES.md).
pub fn migration_page(pairs: &[(String, String)]) -> (i64, i64) {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if get("page_token").is_some() || get("page_size").is_some() {
        let size = get("page_size")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(250)
            .clamp(1, 1000);
        let offset = get("page_token")
            .and_then(decode_offset_token)
            .unwrap_or(0)
            .max(0);
        return (offset, size);
    }
    let per_page = get("per_page")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(250)
        .clamp(1, 1000);
    let page = get("page")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    (page.saturating_mul(per_page), per_page)
}

pub fn encode_offset_token(offset: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{{\"offset\":\"{offset}\",\"v\":2}}"))
}

fn decode_offset_token(t: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    match v.get("offset")? {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// `Link` for the per-identity session lists (token form, so a client that follows `next` walks
/// every page once).
pub fn migration_link(
    base: &str,
    pairs: &[(String, String)],
    offset: i64,
    size: i64,
    total: i64,
) -> String {
    let clean: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "page_token" | "page_size" | "per_page" | "page"))
        .cloned()
        .collect();
    let link = |o: i64, rel: &str| {
        format!(
            "<{}>; rel=\"{rel}\"",
            url_with(
                base,
                &clean,
                &[
                    ("page_size", size.to_string()),
                    ("page_token", encode_offset_token(o))
                ]
            )
        )
    };
    let last = if total == 0 {
        0
    } else {
        ((total - 1) / size) * size
    };
    let mut parts = vec![link(0, "first")];
    if offset.saturating_add(size) < total {
        parts.push(link(offset.saturating_add(size), "next"));
    }
    if offset > 0 {
        parts.push(link(offset.saturating_sub(size).max(0), "prev"));
    }
    parts.push(link(last, "last"));
    parts.join(",")
}

/// Cut a list read with one row more than the page holds down to the page, and return the
/// `page_token` of the next page (made by `token` from the page's last row) when that extra row
/// was there.
pub fn cut_page<T>(list: &mut Vec<T>, size: i64, token: impl Fn(&T) -> String) -> Option<String> {
    let has_more = list.len() as i64 > size;
    list.truncate(usize::try_from(size).unwrap_or(0));
    has_more.then(|| list.last().map(token)).flatten()
}

/// A keyset page's answer with its `Link` header ([`keyset_link`]).
pub fn with_keyset_link(
    mut res: axum::response::Response,
    base: &str,
    pairs: &[(String, String)],
    size: i64,
    next: Option<&str>,
) -> axum::response::Response {
    let link = keyset_link(base, pairs, size, next);
    if let Ok(v) = axum::http::HeaderValue::from_str(&link) {
        res.headers_mut().insert("link", v);
    }
    res
}

/// A per-identity session page's answer with its `X-Total-Count` and `Link` headers
/// ([`migration_link`]).
pub fn with_migration_links(
    mut res: axum::response::Response,
    base: &str,
    pairs: &[(String, String)],
    (offset, size): (i64, i64),
    total: i64,
) -> axum::response::Response {
    let link = migration_link(base, pairs, offset, size, total);
    let h = res.headers_mut();
    h.insert("x-total-count", axum::http::HeaderValue::from(total));
    if let Ok(v) = axum::http::HeaderValue::from_str(&link) {
        h.insert("link", v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_token_round_trip() {
        let t = encode_offset_token(500);
        assert_eq!(decode_offset_token(&t), Some(500));
        assert_eq!(decode_offset_token("garbage!"), None);
    }

    #[test]
    fn migration_page_modes() {
        let p = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(migration_page(&p(&[])), (0, 250));
        assert_eq!(
            migration_page(&p(&[("page", "2"), ("per_page", "10")])),
            (20, 10)
        );
        assert_eq!(migration_page(&p(&[("page_size", "5000")])), (0, 1000));
        let t = encode_offset_token(30);
        assert_eq!(
            migration_page(&p(&[("page_size", "10"), ("page_token", &t)])),
            (30, 10)
        );
    }

    #[test]
    fn keyset_link_has_first_and_next() {
        let l = keyset_link("http://a/admin/identities", &[], 2, Some("abc"));
        assert!(l.contains("rel=\"first\""));
        assert!(l.contains("page_token=abc"));
        assert!(!keyset_link("http://a", &[], 2, None).contains("next"));
    }
}
