//! Login and registration endpoints: browser and native init, get, and submit, with the answers
//! Kratos gives API clients, JSON browser clients (SPAs) and plain browsers.

use super::error::json_response;
use super::extract::ClientInfo;
use super::extract::KBytes;
use super::flow_request::{
    self as fr, build, error_response, invalid_flow, parse_body, see_other, show_flow, str_field,
};
use super::identities::query_pairs;
use super::session_cookie;
use crate::error::{id, Error, Result};
use crate::identity::wire::{identity_json, View};
use crate::registry::Registry;
use crate::selfservice::flow::{self, Flow, FlowType, Kind};
use crate::selfservice::request::FlowRequest;
use crate::selfservice::{csrf, login, recovery, registration, return_to, settings, verification};
use crate::session::manager::Issued;
use crate::session::wire::{session_json, Expand};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

const FULL: Expand = Expand {
    identity: true,
    devices: true,
};

fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

fn flow_id(pairs: &[(String, String)], key: &str) -> Result<uuid::Uuid> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| uuid::Uuid::parse_str(v).ok())
        .ok_or_else(flow::bad_flow_id)
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn truthy(v: Option<&str>) -> bool {
    matches!(
        v.map(str::to_ascii_lowercase).as_deref(),
        Some("true" | "1" | "t")
    )
}

/// Where a plain browser goes when it is already logged in.
fn already_in_redirect(r: &Registry, return_to: Option<&str>) -> String {
    return_to::checked_return_to(r, return_to)
        .ok()
        .flatten()
        .or_else(|| r.config.selfservice.default_browser_return_url.clone())
        .unwrap_or_else(|| format!("{}/", r.public_base))
}

async fn init(
    r: Registry,
    kind: Kind,
    flow_type: FlowType,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    raw: Option<String>,
) -> Response {
    let browser = flow_type == FlowType::Browser;
    let (req, csrf_cookie) = match build(&r, &headers, &uri, ci.clone(), browser).await {
        Ok(x) => x,
        Err(e) => {
            return error_response(&r, e, !browser || super::extract::is_json_request(&headers))
                .await
        }
    };
    let pairs = query_pairs(&raw);
    let return_to = get(&pairs, "return_to");
    let result = match kind {
        Kind::Login => {
            let q = login::InitQuery {
                refresh: truthy(get(&pairs, "refresh")),
                aal: get(&pairs, "aal").map(str::to_string),
                return_to: return_to.map(str::to_string),
            };
            login::init(&r, &req, flow_type, q).await
        }
        Kind::Registration => registration::init(&r, &req, flow_type, return_to).await,
        Kind::Recovery => recovery::init(&r, &req, flow_type, return_to).await,
        Kind::Verification => verification::init(&r, &req, flow_type, return_to).await,
        Kind::Settings => match settings::init(&r, &req, flow_type, return_to).await {
            Ok((f, identity)) => {
                let identity = identity_json(&identity, &r.public_base, View::Public);
                return with_cookie(
                    fr::respond_flow(&r, &f, &req, StatusCode::OK, Some(&identity)),
                    csrf_cookie,
                );
            }
            Err(Error::Api(e)) if browser && !req.is_json && e.id == Some(id::SESSION_INACTIVE) => {
                let mut q = form_urlencoded::Serializer::new(String::new());
                q.append_pair("return_to", &req.url);
                let login = format!(
                    "{}/self-service/login/browser?{}",
                    r.public_base,
                    q.finish()
                );
                return with_cookie(see_other(&login), csrf_cookie);
            }
            Err(e) => Err(e),
        },
    };
    let res = match result {
        Ok(f) => show_flow(&r, &f, &req),
        Err(Error::Api(e))
            if browser && !req.is_json && e.id == Some(id::SESSION_ALREADY_AVAILABLE) =>
        {
            see_other(&already_in_redirect(&r, return_to))
        }
        Err(e) => error_response(&r, e, !browser || req.is_json).await,
    };
    with_cookie(res, csrf_cookie)
}

/// `GET /self-service/login/browser`
pub async fn create_browser_login_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
) -> Response {
    init(r, Kind::Login, FlowType::Browser, headers, uri, ci, raw).await
}

/// `GET /self-service/login/api`
pub async fn create_native_login_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
) -> Response {
    init(r, Kind::Login, FlowType::Api, headers, uri, ci, raw).await
}

/// `GET /self-service/registration/browser`
pub async fn create_browser_registration_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
) -> Response {
    init(
        r,
        Kind::Registration,
        FlowType::Browser,
        headers,
        uri,
        ci,
        raw,
    )
    .await
}

/// `GET /self-service/registration/api`
pub async fn create_native_registration_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
) -> Response {
    init(r, Kind::Registration, FlowType::Api, headers, uri, ci, raw).await
}

macro_rules! init_handlers {
    ($($name:ident => $kind:expr, $ty:expr;)*) => {$(
        /// Flow init endpoint (see the route table).
        pub async fn $name(State(r): State<Registry>, headers: HeaderMap, uri: Uri, ci: ClientInfo, RawQuery(raw): RawQuery) -> Response {
            init(r, $kind, $ty, headers, uri, ci, raw).await
        }
    )*};
}

init_handlers! {
    create_browser_settings_flow => Kind::Settings, FlowType::Browser;
    create_native_settings_flow => Kind::Settings, FlowType::Api;
    create_browser_recovery_flow => Kind::Recovery, FlowType::Browser;
    create_native_recovery_flow => Kind::Recovery, FlowType::Api;
    create_browser_verification_flow => Kind::Verification, FlowType::Browser;
    create_native_verification_flow => Kind::Verification, FlowType::Api;
}

async fn get_flow(
    r: Registry,
    kind: Kind,
    headers: HeaderMap,
    uri: Uri,
    raw: Option<String>,
) -> Result<Response> {
    let pairs = query_pairs(&raw);
    let id = flow_id(&pairs, "id")?;
    let f = Flow::load(&r, id, kind).await?;
    let (req, _) = build(&r, &headers, &uri, ClientInfo::none(), false).await?;
    // Settings flows are guarded by the session (checked below), as in Kratos; flows an admin made
    // for an unknown browser carry no anti-CSRF binding.
    if f.flow_type == FlowType::Browser && kind != Kind::Settings && !f.skip_csrf {
        // The flow may only be read by the browser that holds its anti-CSRF cookie.
        let ok = match (&req.csrf_cookie, &f.csrf_secret) {
            (Some(cookie), Some(stored)) => {
                use subtle::ConstantTimeEq;
                bool::from(cookie.as_bytes().ct_eq(stored.as_bytes()))
            }
            _ => false,
        };
        if !ok {
            return Err(Error::csrf_violation(
                "The anti-CSRF cookie does not match the flow's anti-CSRF token.",
            ));
        }
    }
    let now = r.clock.now();
    if f.is_expired(now) {
        let path = format!(
            "{}/self-service/{}/{}",
            r.public_base,
            kind.as_str(),
            if f.flow_type == FlowType::Browser {
                "browser"
            } else {
                "api"
            }
        );
        let mut e = crate::error::ApiError::new(410)
            .with_id(id::FLOW_EXPIRED)
            .with_reason(format!(
                "The self-service flow expired {:.2} minutes ago, initialize a new one.",
                (now - f.expires_at).num_milliseconds() as f64 / 60000.0
            ))
            .with_message("self-service flow expired");
        if f.flow_type == FlowType::Browser {
            e = e
                .with_detail("redirect_to", path)
                .with_detail("return_to", f.return_to.clone().unwrap_or_default());
        } else {
            e = e.with_detail("api", path);
        }
        return Err(e.into());
    }
    let identity = if kind == Kind::Settings {
        let (session, _) = req.current.as_ref().ok_or_else(settings::no_session)?;
        if f.identity_id != Some(session.identity_id) {
            return Err(crate::error::ApiError::new(403)
                .with_id(id::SECURITY_IDENTITY_MISMATCH)
                .with_reason("The flow was initiated for another identity.")
                .into());
        }
        let i = r
            .persister
            .get_identity(session.identity_id, false)
            .await?
            .ok_or_else(settings::no_session)?;
        Some(identity_json(&i, &r.public_base, View::Public))
    } else {
        None
    };
    let req = FlowRequest {
        is_json: true,
        ..req
    };
    Ok(fr::flow_json_with(
        &f,
        &req,
        StatusCode::OK,
        identity.as_ref(),
    ))
}

macro_rules! get_flow_handlers {
    ($($name:ident => $kind:expr;)*) => {$(
        /// `GET /self-service/<flow>/flows?id=` (see the route table).
        pub async fn $name(State(r): State<Registry>, headers: HeaderMap, uri: Uri, RawQuery(raw): RawQuery) -> Result<Response> {
            get_flow(r, $kind, headers, uri, raw).await
        }
    )*};
}

get_flow_handlers! {
    get_login_flow => Kind::Login;
    get_registration_flow => Kind::Registration;
    get_settings_flow => Kind::Settings;
    get_recovery_flow => Kind::Recovery;
    get_verification_flow => Kind::Verification;
}

/// The session cookie for a browser login, plus a fresh anti-CSRF cookie (new principal).
fn login_cookies(r: &Registry, issued: &Issued) -> Vec<HeaderValue> {
    login_cookies_with(r, issued, None)
}

/// As [`login_cookies`], with the anti-CSRF secret chosen earlier in the request (when flows made in
/// the same request are already bound to it).
fn login_cookies_with(
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

fn append_cookies(mut res: Response, cookies: Vec<HeaderValue>) -> Response {
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// Load the flow named by `?flow=` and the request context; errors go out in the flow's style.
async fn submission(
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
async fn submit_error(r: &Registry, kind: Kind, e: Error, api: bool, is_json: bool) -> Response {
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

/// `POST /self-service/login?flow=`
pub async fn update_login_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
    KBytes(body): KBytes,
) -> Response {
    let (f, req, v) = match submission(&r, Kind::Login, &headers, &uri, &ci, &raw, &body).await {
        Ok(x) => x,
        Err(res) => return res,
    };
    let api = f.flow_type == FlowType::Api;
    let sub = login::Submission {
        method: str_field(&v, "method"),
        identifier: str_field(&v, "identifier").or_else(|| str_field(&v, "password_identifier")),
        password: str_field(&v, "password"),
        csrf_token: str_field(&v, "csrf_token"),
        transient_payload: v.get("transient_payload").cloned(),
    };
    let now = r.clock.now();
    match login::submit(&r, &req, f, sub).await {
        Ok(login::Outcome::Invalid(f)) => {
            if !api && !req.is_json && req.current.is_some() && !f.refresh {
                return see_other(&already_in_redirect(&r, f.return_to.as_deref()));
            }
            invalid_flow(&r, &f, &req)
        }
        Ok(login::Outcome::Success {
            issued,
            redirect_to,
            ..
        }) => {
            let session = session_json(&issued.session, now, &r.public_base, FULL);
            if api {
                json_response(
                    StatusCode::OK,
                    &json!({"session_token": issued.token, "session": session, "continue_with": null}),
                )
            } else if req.is_json {
                let res = json_response(
                    StatusCode::OK,
                    &json!({"session": session, "continue_with": [
                        {"action": "redirect_browser_to", "redirect_browser_to": redirect_to}
                    ]}),
                );
                append_cookies(res, login_cookies(&r, &issued))
            } else {
                append_cookies(see_other(&redirect_to), login_cookies(&r, &issued))
            }
        }
        Err(e) => submit_error(&r, Kind::Login, e, api, req.is_json).await,
    }
}

/// `POST /self-service/registration?flow=`
pub async fn update_registration_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
    KBytes(body): KBytes,
) -> Response {
    let (f, req, v) =
        match submission(&r, Kind::Registration, &headers, &uri, &ci, &raw, &body).await {
            Ok(x) => x,
            Err(res) => return res,
        };
    let api = f.flow_type == FlowType::Api;
    let is_form = !headers
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or("")
        .starts_with("application/json");
    let mut traits = v.get("traits").cloned();
    if is_form {
        if let Some(t) = traits.as_mut() {
            registration::coerce_form_traits(&r.schemas.default_schema().raw, t);
        }
    }
    let sub = registration::Submission {
        method: str_field(&v, "method"),
        password: str_field(&v, "password"),
        traits,
        csrf_token: str_field(&v, "csrf_token"),
        transient_payload: v.get("transient_payload").cloned(),
    };
    if !api && !req.is_json && req.current.is_some() {
        return fr::found(&already_in_redirect(&r, f.return_to.as_deref()));
    }
    let mut req = req;
    if !api && registration::session_hook_enabled(&r) {
        req.next_csrf = Some(csrf::new_secret());
    }
    let flow_type = f.flow_type;
    let now = r.clock.now();
    match registration::submit(&r, &req, f, sub).await {
        Ok(registration::Outcome::Invalid(f)) => invalid_flow(&r, &f, &req),
        Ok(registration::Outcome::Success {
            identity,
            issued,
            redirect_to,
            ..
        }) => {
            let identity_value = identity_json(&identity, &r.public_base, View::Public);
            let mut body = serde_json::Map::new();
            body.insert("identity".into(), identity_value);
            let mut continue_with =
                match verification::start_for_addresses(&r, &identity, flow_type, &req).await {
                    Ok(items) => items,
                    Err(e) => return error_response(&r, e, api || req.is_json).await,
                };
            if let Some(issued) = &issued {
                body.insert(
                    "session".into(),
                    session_json(&issued.session, now, &r.public_base, FULL),
                );
                if api {
                    body.insert("session_token".into(), json!(issued.token));
                    continue_with.push(json!({"action": "set_ory_session_token", "ory_session_token": issued.token}));
                }
            }
            if api {
                body.insert("continue_with".into(), json!(continue_with));
                return json_response(StatusCode::OK, &Value::Object(body));
            }
            let cookies = issued
                .as_ref()
                .map(|i| login_cookies(&r, i))
                .unwrap_or_default();
            if req.is_json {
                continue_with.push(
                    json!({"action": "redirect_browser_to", "redirect_browser_to": redirect_to}),
                );
                body.insert("continue_with".into(), json!(continue_with));
                append_cookies(json_response(StatusCode::OK, &Value::Object(body)), cookies)
            } else {
                append_cookies(see_other(&redirect_to), cookies)
            }
        }
        Err(e) => submit_error(&r, Kind::Registration, e, api, req.is_json).await,
    }
}
