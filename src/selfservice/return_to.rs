//! `return_to` allow-listing: a redirect target must match `selfservice.allowed_return_urls` (or the
//! public base URL's `/self-service` path) by scheme, host (with `*.` wildcards) and path prefix.

use crate::error::{Error, Result};
use crate::registry::Registry;
use url::Url;

/// The allow-list, parsed once. Entries that do not parse, or whose host is a bare wildcard, are
/// ignored.
#[derive(Debug, Clone)]
pub struct AllowList {
    entries: Vec<Url>,
}

impl AllowList {
    pub fn new(allowed: &[String], public_base: &str) -> AllowList {
        let mut entries: Vec<Url> = allowed
            .iter()
            .filter_map(|a| Url::parse(a).ok())
            .filter(|u| {
                let host = u.host_str().unwrap_or("");
                let bare_wildcard = host
                    .strip_prefix("*.")
                    .is_some_and(|rest| !rest.contains('.'));
                !host.is_empty() && host != "*" && !bare_wildcard
            })
            .collect();
        if let Ok(u) = Url::parse(&format!(
            "{}/self-service",
            public_base.trim_end_matches('/')
        )) {
            entries.push(u);
        }
        AllowList { entries }
    }

    /// Resolve and check a `return_to`: relative targets take scheme and host from `default`.
    /// Returns the absolute URL when allowed.
    pub fn check(&self, return_to: &str, default: &str) -> Option<Url> {
        let base = Url::parse(default).ok();
        let target = match Url::parse(return_to) {
            Ok(u) => u,
            Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(return_to).ok()?,
            Err(_) => return None,
        };
        // Credentials in a URL are a classic way to disguise the real host.
        if !target.username().is_empty() || target.password().is_some() {
            return None;
        }
        let host = host_port(&target)?;
        self.entries
            .iter()
            .find(|e| matches(e, &target, &host))
            .map(|_| target)
    }
}

fn host_port(u: &Url) -> Option<String> {
    let host = u.host_str()?.to_ascii_lowercase();
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

fn matches(entry: &Url, target: &Url, target_host: &str) -> bool {
    if !entry.scheme().eq_ignore_ascii_case(target.scheme()) {
        return false;
    }
    let Some(entry_host) = host_port(entry) else {
        return false;
    };
    let host_ok = match entry_host.strip_prefix("*.") {
        Some(suffix) => target_host.ends_with(&format!(".{suffix}")),
        None => entry_host == target_host,
    };
    let entry_path = if entry.path().is_empty() {
        "/"
    } else {
        entry.path()
    };
    let target_path = if target.path().is_empty() {
        "/"
    } else {
        target.path()
    };
    host_ok && target_path.starts_with(entry_path)
}

/// Validate `return_to` against the allow-list; None when absent.
pub fn checked_return_to(r: &Registry, return_to: Option<&str>) -> Result<Option<String>> {
    match return_to.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(rt) => {
            let default = r
                .config
                .selfservice
                .default_browser_return_url
                .clone()
                .unwrap_or_else(|| format!("{}/", r.public_base));
            AllowList::new(&r.config.selfservice.allowed_return_urls, &r.public_base)
                .check(rt, &default)
                .map(|u| Some(u.to_string()))
                .ok_or_else(|| Error::return_to_forbidden(rt))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> AllowList {
        AllowList::new(
            &[
                "https://app.example.com/".into(),
                "https://allowed.example.com/welcome".into(),
                "https://*.wild.example.com/".into(),
                "https://*.com".into(),
                "not a url".into(),
            ],
            "http://127.0.0.1:4433/",
        )
    }

    #[test]
    fn allows_listed_targets() {
        let l = list();
        let d = "https://app.example.com/";
        assert!(l.check("https://app.example.com/dashboard", d).is_some());
        assert!(l
            .check("https://allowed.example.com/welcome/x", d)
            .is_some());
        assert!(l.check("https://a.wild.example.com/", d).is_some());
        assert!(l.check("/relative/path", d).is_some());
        assert!(l
            .check("http://127.0.0.1:4433/self-service/login/browser", d)
            .is_some());
    }

    #[test]
    fn refuses_open_redirects() {
        let l = list();
        let d = "https://app.example.com/";
        for bad in [
            "https://evil.com/",
            "//evil.com/x",
            "https://app.example.com@evil.com/",
            "https://user:pw@app.example.com/",
            "http://app.example.com/",
            "https://app.example.com:8443/",
            "https://allowed.example.com/other",
            "https://wild.example.com.evil.com/",
            "https://x.com/",
            "javascript:alert(1)",
            "https://APP.example.com.evil.com/",
        ] {
            assert!(l.check(bad, d).is_none(), "{bad} must be refused");
        }
    }
}
