//! What every flow submission shares: loading the flow and the request, reading the body, the
//! cookies of a new session, the status of a flow shown again, and errors in the flow's style.

use super::extract::ClientInfo;
use super::flow_request::{self as fr, build, error_response, flow_id, parse_body, see_other};
use super::identities::query_pairs;
use super::session_cookie;
use crate::error::{id, Error};
use crate::registry::Registry;
use crate::selfservice::csrf;
use crate::selfservice::flow::{self, Flow, FlowType, Kind};
use crate::selfservice::request::FlowRequest;
use crate::session::manager::Issued;
use crate::session::wire::Expand;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

pub(super) const FULL: Expand = Expand {
    identity: true,
    devices: true,
};

/// The session cookie for a browser login, plus a fresh anti-CSRF cookie (new principal).
pub(super) fn login_cookies(r: &Registry, issued: &Issued) -> Vec<HeaderValue> {
    login_cookies_with(r, issued, None)
}

/// As [`login_cookies`], with the anti-CSRF secret chosen earlier in the request (when flows made in
/// the same request are already bound to it).
pub(super) fn login_cookies_with(
    r: &Registry,
    issued: &Issued,
    csrf_secret: Option<&str>,
) -> Vec<HeaderValue> {
    let now = r.clock.now();
    let secret = csrf_secret
        .map(str::to_string)
        .unwrap_or_else(csrf::new_secret);
    vec![
        session_cookie::issue(r, &issued.token, issued.session.expires_at, now),
        session_cookie::csrf_cookie(r, &secret),
    ]
}

pub(super) fn append_cookies(mut res: Response, cookies: Vec<HeaderValue>) -> Response {
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// Load the flow named by `?flow=` and the request context; errors go out in the flow's style.
pub(super) async fn submission(
    r: &Registry,
    kind: Kind,
    headers: &HeaderMap,
    uri: &Uri,
    ci: &ClientInfo,
    raw: &Option<String>,
    body: &Bytes,
) -> std::result::Result<(Flow, FlowRequest, Value), Response> {
    let is_json = super::extract::is_json_request(headers);
    let pairs = query_pairs(raw);
    let f = match flow_id(&pairs, "flow") {
        Ok(id) => Flow::load(r, id, kind).await,
        Err(e) => Err(e),
    };
    let f = match f {
        Ok(f) => f,
        Err(e) => return Err(error_response(r, e, is_json).await),
    };
    let api = f.flow_type == FlowType::Api;
    let (req, _) = match build(r, headers, uri, ci.clone(), false).await {
        Ok(x) => x,
        Err(e) => return Err(error_response(r, e, api || is_json).await),
    };
    let value = match parse_body(headers, body) {
        Ok(v) => v,
        Err(e) => return Err(fr::reject_body(r, f, &req, e, None).await),
    };
    Ok((f, req, value))
}

/// The answer for an error raised while submitting: the 410 of an expired flow sends plain browsers
/// to the replacement flow's UI; everything else is JSON or the error UI.
pub(super) async fn submit_error(
    r: &Registry,
    kind: Kind,
    e: Error,
    api: bool,
    is_json: bool,
) -> Response {
    if !api && !is_json {
        if let Error::Api(a) = &e {
            if a.id == Some(id::SESSION_VERIFIED_ADDRESS_REQUIRED) {
                let url = a
                    .details
                    .as_ref()
                    .and_then(|d| d.get("continue_with"))
                    .and_then(|c| c.pointer("/0/flow/url"))
                    .and_then(Value::as_str);
                if let Some(url) = url {
                    return see_other(url);
                }
            }
            if a.id == Some(id::FLOW_EXPIRED) {
                if let Some(new_id) = a
                    .extra
                    .as_ref()
                    .and_then(|x| x.get("use_flow_id"))
                    .and_then(Value::as_str)
                {
                    if let Ok(new_id) = uuid::Uuid::parse_str(new_id) {
                        return see_other(&flow::ui_redirect(r, kind, new_id));
                    }
                }
            }
        }
    }
    error_response(r, e, api || is_json).await
}

impl From<Error> for (Error, bool) {
    fn from(e: Error) -> Self {
        (e, false)
    }
}

/// The status of a recovery or verification flow answered after a submission: 400 when it carries
/// an error, except a wrong code, which (as in Kratos's code strategy) is the form shown again: 200.
pub(super) fn code_flow_status(f: &Flow) -> StatusCode {
    const WRONG_CODE: [u32; 2] = [
        crate::selfservice::text::RECOVERY_CODE_INVALID,
        crate::selfservice::text::VERIFICATION_CODE_INVALID,
    ];
    let failed =
        f.ui.messages
            .iter()
            .chain(f.ui.nodes.iter().flat_map(|n| &n.messages))
            .any(|m| m.kind == "error" && !WRONG_CODE.contains(&m.id));
    if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}
