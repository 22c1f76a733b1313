//! What a flow needs to know about the HTTP request that drives it, parsed at the edge.

use super::flow::{Flow, FlowType};
use super::text;
use crate::session::manager::DeviceInfo;
use crate::session::Session;

pub struct FlowRequest {
    /// Kratos's "is this a JSON request?" (JSON answers instead of redirects).
    pub is_json: bool,
    /// The full request URL as seen from outside (`request_url` of new flows).
    pub url: String,
    /// The caller's current session and its token, if any.
    pub current: Option<(Session, String)>,
    /// The anti-CSRF secret from the cookie, when present and well-formed.
    pub csrf_secret: Option<Vec<u8>>,
    /// The anti-CSRF cookie value as sent.
    pub csrf_cookie: Option<String>,
    /// The token from the `X-CSRF-Token` header, if any.
    pub csrf_header: Option<String>,
    pub device: DeviceInfo,
    /// The client address rate limits count against (proxy headers only from trusted proxies).
    pub client_address: Option<String>,
    /// For native flows: why the request looks like it came from a browser (an `Origin` header or a
    /// cookie), which Kratos refuses.
    pub browser_signal: Option<&'static str>,
    /// The anti-CSRF secret this response will set when it logs someone in (a new principal gets a
    /// new token); flows created in the same request are bound to it.
    pub next_csrf: Option<String>,
}

/// The reason Kratos gives when a native flow is submitted with an `Origin` header.
pub const ORIGIN_REASON: &str = "The HTTP Request Header included the \"Origin\" key, indicating that this request was made as part of an AJAX request in a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.";
/// The reason Kratos gives when a native flow is submitted with cookies.
pub const COOKIE_REASON: &str = "The HTTP Request Header included the \"Cookie\" key, indicating that this request was made by a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.";

/// A native flow must not be driven by a browser (Origin header or cookies): folded into the flow.
pub fn refuse_browser_signal(f: &mut Flow, req: &FlowRequest) -> bool {
    if f.flow_type != FlowType::Api {
        return false;
    }
    match req.browser_signal {
        Some(reason) => {
            let reason = if reason == "origin" {
                ORIGIN_REASON
            } else {
                COOKIE_REASON
            };
            f.ui.messages.push(text::generic_error(reason));
            true
        }
        None => false,
    }
}
