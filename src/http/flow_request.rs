//! Building a [`FlowRequest`] from an HTTP request, and the answers every flow endpoint shares:
//! the flow as JSON or a redirect to its UI, errors as JSON or a redirect to the error UI.

use super::auth;
use super::error::{error_body, json_response};
use super::extract::is_json_request;
use super::identities::query_pairs;
use super::session_cookie;
use crate::error::{ApiError, Error, Result};
use crate::registry::Registry;
use crate::selfservice::csrf;
use crate::selfservice::flow::{self, Flow, FlowType};
use crate::selfservice::request::FlowRequest;
use crate::session::manager::DeviceInfo;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Parse what a flow needs from the request. With `issue_csrf`, a missing or malformed anti-CSRF
/// cookie is replaced by a new secret; the returned header value must then be sent.
pub async fn build(
    r: &Registry,
    headers: &HeaderMap,
    uri: &Uri,
    info: super::extract::ClientInfo,
    issue_csrf: bool,
) -> Result<(FlowRequest, Option<HeaderValue>)> {
    let current = auth::authenticate(r, headers)
        .await?
        .map(|a| (a.session, a.token));
    let cookie_value =
        session_cookie::read(headers, &session_cookie::csrf_cookie_name(r)).map(str::to_string);
    let mut csrf_secret = cookie_value.as_deref().and_then(csrf::decode_secret);
    let mut csrf_cookie = cookie_value.filter(|_| csrf_secret.is_some());
    let mut set_cookie = None;
    if issue_csrf && csrf_secret.is_none() {
        let fresh = csrf::new_secret();
        csrf_secret = csrf::decode_secret(&fresh);
        set_cookie = Some(session_cookie::csrf_cookie(r, &fresh));
        csrf_cookie = Some(fresh);
    }
    let browser_signal = if headers.contains_key(header::ORIGIN) {
        Some("origin")
    } else if has_non_cloudflare_cookie(headers) {
        Some("cookie")
    } else {
        None
    };
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let req = FlowRequest {
        is_json: is_json_request(headers),
        url: format!("{}{}", r.public_base, path_and_query),
        current,
        csrf_secret,
        csrf_cookie,
        csrf_header: headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        client_address: client_address(r, headers, &info),
        device: DeviceInfo {
            ip: info.ip,
            user_agent: info.user_agent,
            location: info.location,
        },
        browser_signal,
        next_csrf: None,
    };
    Ok((req, set_cookie))
}

/// The address rate limits count a request against (proxy headers only from trusted proxies).
pub fn client_address(
    r: &Registry,
    headers: &HeaderMap,
    info: &super::extract::ClientInfo,
) -> Option<String> {
    crate::selfservice::rate_limit::client_address(
        &r.config.ostiary.rate_limit.trusted_proxies,
        info.peer,
        forwarded_client(headers).as_deref(),
    )
}

/// The client address a trusted proxy forwarded: `X-Real-IP`, else the right-most
/// `X-Forwarded-For` entry.
fn forwarded_client(headers: &HeaderMap) -> Option<String> {
    let get = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    get("x-real-ip").map(str::to_string).or_else(|| {
        get("x-forwarded-for")
            .and_then(|x| x.rsplit(',').next())
            .map(|s| s.trim().to_string())
    })
}

fn has_non_cloudflare_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('=').map(|(k, _)| k.trim()))
        .any(|name| {
            !(name.starts_with("__cf") || name.starts_with("_cf") || name.starts_with("cf_"))
        })
}

/// The flow as JSON (masked CSRF token for browser flows) with the given status.
pub fn flow_json(f: &Flow, req: &FlowRequest, status: StatusCode) -> Response {
    flow_json_with(f, req, status, None)
}

/// The flow as JSON, with the settings flow's identity.
pub fn flow_json_with(
    f: &Flow,
    req: &FlowRequest,
    status: StatusCode,
    identity: Option<&Value>,
) -> Response {
    let secret = req
        .next_csrf
        .as_deref()
        .and_then(csrf::decode_secret)
        .or_else(|| req.csrf_secret.clone());
    let token = match (f.flow_type, secret) {
        (FlowType::Browser, Some(secret)) => csrf::mask(&secret),
        _ => String::new(),
    };
    json_response(status, &f.to_json_with(&token, identity))
}

pub fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

pub fn found(location: &str) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// A new or fetched flow: JSON for API and JSON clients, else 303 to its UI.
pub fn show_flow(r: &Registry, f: &Flow, req: &FlowRequest) -> Response {
    respond_flow(r, f, req, StatusCode::OK, None)
}

/// A flow with validation messages: 400 + flow for API and JSON clients, else 303 to its UI.
pub fn invalid_flow(r: &Registry, f: &Flow, req: &FlowRequest) -> Response {
    respond_flow(r, f, req, StatusCode::BAD_REQUEST, None)
}

/// The flow as JSON with `status` for API and JSON clients, else 303 to its UI.
pub fn respond_flow(
    r: &Registry,
    f: &Flow,
    req: &FlowRequest,
    status: StatusCode,
    identity: Option<&Value>,
) -> Response {
    if f.flow_type == FlowType::Api || req.is_json {
        flow_json_with(f, req, status, identity)
    } else {
        see_other(&flow::ui_redirect(r, f.kind, f.id))
    }
}

/// An error: JSON for JSON clients; browsers are sent to the error UI with the error stored.
pub async fn error_response(r: &Registry, e: Error, is_json: bool) -> Response {
    if is_json {
        return e.into_response();
    }
    let api = super::error::to_api(e);
    // A second factor or a fresh login is due: the browser goes to where that happens.
    if matches!(
        api.id,
        Some(
            crate::error::id::SESSION_AAL2_REQUIRED
                | crate::error::id::SESSION_REFRESH_REQUIRED
                | crate::error::id::BROWSER_LOCATION_CHANGE_REQUIRED
        )
    ) {
        let to = api
            .extra
            .as_ref()
            .and_then(|x| x.get("redirect_browser_to"))
            .and_then(serde_json::Value::as_str);
        if let Some(to) = to {
            return see_other(to);
        }
    }
    let id = uuid::Uuid::new_v4();
    let body = error_body(&api, None)["error"].clone();
    if let Err(err) = r.persister.save_error(id, &body, r.clock.now()).await {
        return err.into_response();
    }
    let base = r
        .config
        .selfservice
        .flows
        .error
        .ui_url
        .clone()
        .unwrap_or_else(|| "https://www.ory.sh/kratos/docs/fallback/error".into());
    let sep = if base.contains('?') { '&' } else { '?' };
    see_other(&format!("{base}{sep}id={id}"))
}

pub fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

pub fn flow_id(pairs: &[(String, String)], key: &str) -> Result<uuid::Uuid> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| uuid::Uuid::parse_str(v).ok())
        .ok_or_else(flow::bad_flow_id)
}

pub fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub fn truthy(v: Option<&str>) -> bool {
    matches!(
        v.map(str::to_ascii_lowercase).as_deref(),
        Some("true" | "1" | "t")
    )
}

/// Where a plain browser goes when it is already logged in.
pub fn already_in_redirect(r: &Registry, return_to: Option<&str>) -> String {
    crate::selfservice::return_to::checked_return_to(r, return_to)
        .ok()
        .flatten()
        .or_else(|| r.config.selfservice.default_browser_return_url.clone())
        .unwrap_or_else(|| format!("{}/", r.public_base))
}

pub fn flow_param(raw: &Option<String>) -> Result<uuid::Uuid> {
    query_pairs(raw)
        .iter()
        .find(|(k, _)| k == "flow")
        .and_then(|(_, v)| uuid::Uuid::parse_str(v).ok())
        .ok_or_else(flow::bad_flow_id)
}

pub fn param(raw: &Option<String>, key: &str) -> Option<String> {
    query_pairs(raw)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A submission whose body cannot be read, on a flow that exists: as in Kratos, a 400 error is a
/// message on the flow (4000001 with the reason), which is saved and answered with status 400 (or
/// a redirect to its UI for plain browsers); other errors (415) keep the error envelope.
pub async fn reject_body(
    r: &Registry,
    mut f: Flow,
    req: &FlowRequest,
    e: Error,
    identity: Option<&Value>,
) -> Response {
    let reason = match &e {
        Error::Api(a) if a.code == 400 => a.reason.clone().unwrap_or_default(),
        _ => return error_response(r, e, f.flow_type == FlowType::Api || req.is_json).await,
    };
    f.mark_unreadable(&reason, r.clock.now());
    if let Err(e) = f.save(r).await {
        return error_response(r, e, f.flow_type == FlowType::Api || req.is_json).await;
    }
    respond_flow(r, &f, req, StatusCode::BAD_REQUEST, identity)
}

/// Decode a flow submission: JSON object or form fields (`traits.email=…` become nested objects).
/// `transient_payload`, when sent, must be an object (`null` counts as not sent).
pub fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value> {
    let mut v = parse_fields(headers, body)?;
    if let Some(obj) = v.as_object_mut() {
        match obj.get("transient_payload") {
            Some(Value::Null) => {
                obj.remove("transient_payload");
            }
            Some(Value::Object(_)) | None => {}
            Some(other) => {
                return Err(Error::bad_request(format!(
                    "transient_payload: expected object, but got {}",
                    crate::schema::type_name(other)
                )))
            }
        }
    }
    Ok(v)
}

fn parse_fields(headers: &HeaderMap, body: &[u8]) -> Result<Value> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/json" => {
            let v: Value = serde_json::from_slice(body)
                .map_err(|e| Error::bad_request(format!("Unable to decode the JSON body: {e}")))?;
            if !v.is_object() {
                return Err(Error::bad_request("The request body must be a JSON object."));
            }
            Ok(v)
        }
        "application/x-www-form-urlencoded" | "multipart/form-data" | "" => {
            let mut out = serde_json::Map::new();
            for (k, v) in form_urlencoded::parse(body) {
                // Nesting comes from the dots in the field names: bounded, so a hostile name
                // cannot build a structure deep enough to exhaust the stack.
                if k.matches('.').count() > MAX_FORM_DEPTH {
                    return Err(Error::bad_request(format!(
                        "Form field names may nest at most {MAX_FORM_DEPTH} levels deep."
                    )));
                }
                insert_dotted(&mut out, &k, Value::String(v.into_owned()));
            }
            Ok(Value::Object(out))
        }
        other => Err(ApiError::new(415)
            .with_reason(format!("Content-Type {other:?} is not supported; use application/json or application/x-www-form-urlencoded."))
            .into()),
    }
}

/// The deepest `a.b.c` nesting a form field name may express.
const MAX_FORM_DEPTH: usize = 32;

fn insert_dotted(map: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            map.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            if !entry.is_object() {
                *entry = Value::Object(Default::default());
            }
            if let Value::Object(inner) = entry {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

/// Where a browser must go next: a SPA (`is_json`) gets 422 `browser_location_change_required`
/// naming `url`, a plain browser a 303 there.
pub fn location_change(url: &str, is_json: bool) -> Response {
    if !is_json {
        return see_other(url);
    }
    axum::response::IntoResponse::into_response(crate::selfservice::flow::location_change(url))
}
