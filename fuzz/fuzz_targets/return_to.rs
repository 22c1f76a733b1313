//! ostiary::selfservice::return_to::AllowList::check: a `return_to` (and, after a newline, the
//! default URL it is resolved against). Whatever it accepts must be on the allow-list: right
//! scheme, an allowed host (exact, or a subdomain of a `*.` entry), an allowed path prefix, and
//! no user info.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostiary::selfservice::return_to::AllowList;
use std::sync::OnceLock;

const PUBLIC: &str = "http://127.0.0.1:4433/";

fn list() -> &'static AllowList {
    static L: OnceLock<AllowList> = OnceLock::new();
    L.get_or_init(|| {
        AllowList::new(
            &[
                "https://app.example.com/".into(),
                "https://*.example.org/callback".into(),
                "http://localhost:3000/welcome".into(),
                "not a url".into(),
                "https://*/".into(),
                "https://*.com/".into(),
            ],
            PUBLIC,
        )
    })
}

fn allowed(u: &url::Url) -> bool {
    let host = u.host_str().unwrap_or("").to_ascii_lowercase();
    let port = u.port();
    let path = u.path();
    match (u.scheme(), host.as_str(), port) {
        ("https", "app.example.com", None) => path.starts_with('/'),
        // As in Kratos (suffix match on ".example.org"), the empty-label host ".example.org"
        // (from "https:/%2Eexample.org/...") matches too; it resolves nowhere.
        ("https", h, None) if h.ends_with(".example.org") => path.starts_with("/callback"),
        ("http", "localhost", Some(3000)) => path.starts_with("/welcome"),
        ("http", "127.0.0.1", Some(4433)) => path.starts_with("/self-service"),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (return_to, default) = match text.split_once('\n') {
        Some((r, d)) => (r, d),
        None => (text.as_ref(), "https://app.example.com/"),
    };
    if let Some(u) = list().check(return_to, default) {
        assert!(u.username().is_empty() && u.password().is_none(), "user info accepted: {u}");
        assert!(allowed(&u), "accepted a target outside the allow-list: {return_to:?} -> {u}");
    }
});
