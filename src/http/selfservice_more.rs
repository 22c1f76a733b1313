//! Settings, recovery and verification submissions, and the links sent by email (GET with `code` or
//! `token`), with the answers Kratos gives API clients, SPAs and plain browsers.

use super::error::json_response;
use super::extract::ClientInfo;
use super::extract::KBytes;
use super::flow_request::{self as fr, build, error_response, parse_body, see_other, str_field};
use super::identities::query_pairs;
use super::session_cookie;
use crate::error::{ApiError, Error, Result};
use crate::identity::wire::{identity_json, View};
use crate::registry::Registry;
use crate::selfservice::flow::{self, Flow, FlowType, Kind};
use crate::selfservice::{csrf, recovery, settings, verification};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

fn flow_param(raw: &Option<String>) -> Result<uuid::Uuid> {
    query_pairs(raw)
        .iter()
        .find(|(k, _)| k == "flow")
        .and_then(|(_, v)| uuid::Uuid::parse_str(v).ok())
        .ok_or_else(flow::bad_flow_id)
}

fn param(raw: &Option<String>, key: &str) -> Option<String> {
    query_pairs(raw)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// `POST /self-service/settings?flow=`
pub async fn update_settings_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
    KBytes(body): KBytes,
) -> Response {
    let is_json = super::extract::is_json_request(&headers);
    let result = async {
        let f = Flow::load(&r, flow_param(&raw)?, Kind::Settings).await?;
        let (req, _) = build(&r, &headers, &uri, ci, false).await?;
        let v = match parse_body(&headers, &body) {
            Ok(v) => v,
            Err(Error::Api(a)) if a.code == 400 => {
                let api = f.flow_type == FlowType::Api;
                let reason = a.reason.unwrap_or_default();
                let (f, identity) = settings::reject_body(&r, &req, f, &reason)
                    .await
                    .map_err(|e| (e, api))?;
                let identity = identity_json(&identity, &r.public_base, View::Public);
                return Ok(fr::respond_flow(
                    &r,
                    &f,
                    &req,
                    StatusCode::BAD_REQUEST,
                    Some(&identity),
                ));
            }
            Err(e) => return Err((e, f.flow_type == FlowType::Api)),
        };
        let mut traits = v.get("traits").cloned();
        if !headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .unwrap_or("")
            .starts_with("application/json")
        {
            if let Some(t) = traits.as_mut() {
                crate::selfservice::registration::coerce_form_traits(
                    &r.schemas.default_schema().raw,
                    t,
                );
            }
        }
        let sub = settings::Submission {
            method: str_field(&v, "method"),
            password: str_field(&v, "password"),
            traits,
            csrf_token: str_field(&v, "csrf_token"),
        };
        let api = f.flow_type == FlowType::Api;
        let settings::Outcome::Flow(f, identity) = settings::submit(&r, &req, f, sub)
            .await
            .map_err(|e| (e, api))?;
        let identity = identity_json(&identity, &r.public_base, View::Public);
        let status = if f.state == "success" {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        if !api && !req.is_json && f.state == "success" {
            let after = r
                .config
                .selfservice
                .flows
                .settings
                .after
                .get("default_browser_return_url")
                .and_then(Value::as_str)
                .map(str::to_string);
            return Ok(see_other(
                &f.return_to
                    .clone()
                    .or(after)
                    .unwrap_or_else(|| flow::ui_redirect(&r, Kind::Settings, f.id)),
            ));
        }
        Ok(fr::respond_flow(&r, &f, &req, status, Some(&identity)))
    }
    .await;
    match result {
        Ok(res) => res,
        Err((e, api)) => {
            if let Error::Api(a) = &e {
                if !api && !is_json && a.id == Some(crate::error::id::SESSION_REFRESH_REQUIRED) {
                    if let Some(url) = a
                        .extra
                        .as_ref()
                        .and_then(|x| x.get("redirect_browser_to"))
                        .and_then(Value::as_str)
                    {
                        return see_other(url);
                    }
                }
            }
            error_response(&r, e, api || is_json).await
        }
    }
}

impl From<Error> for (Error, bool) {
    fn from(e: Error) -> Self {
        (e, false)
    }
}

/// The status of a recovery or verification flow answered after a submission: 400 when it carries
/// an error, except a wrong code, which (as in Kratos's code strategy) is the form shown again: 200.
fn code_flow_status(f: &Flow) -> StatusCode {
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

/// `POST /self-service/verification?flow=`
pub async fn update_verification_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
    KBytes(body): KBytes,
) -> Response {
    let is_json = super::extract::is_json_request(&headers);
    let result = async {
        let f = Flow::load(&r, flow_param(&raw)?, Kind::Verification).await?;
        let api = f.flow_type == FlowType::Api;
        let (req, _) = build(&r, &headers, &uri, ci, false).await?;
        let v = match parse_body(&headers, &body) {
            Ok(v) => v,
            Err(e) => return Ok(fr::reject_body(&r, f, &req, e, None).await),
        };
        let sub = verification::Submission {
            method: str_field(&v, "method"),
            email: str_field(&v, "email"),
            code: str_field(&v, "code"),
            csrf_token: str_field(&v, "csrf_token"),
        };
        let f = verification::submit(&r, &req, f, sub)
            .await
            .map_err(|e| (e, api))?;
        Ok(fr::respond_flow(&r, &f, &req, code_flow_status(&f), None))
    }
    .await;
    match result {
        Ok(res) => res,
        Err((e, api)) => error_response(&r, e, api || is_json).await,
    }
}

/// `POST /self-service/recovery?flow=`
pub async fn update_recovery_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
    KBytes(body): KBytes,
) -> Response {
    let is_json = super::extract::is_json_request(&headers);
    let result = async {
        let f = Flow::load(&r, flow_param(&raw)?, Kind::Recovery).await?;
        let api = f.flow_type == FlowType::Api;
        let (mut req, _) = build(&r, &headers, &uri, ci, false).await?;
        if !api {
            req.next_csrf = Some(csrf::new_secret());
        }
        let v = match parse_body(&headers, &body) {
            Ok(v) => v,
            Err(e) => {
                let req = crate::selfservice::request::FlowRequest {
                    next_csrf: None,
                    ..req
                };
                return Ok(fr::reject_body(&r, f, &req, e, None).await);
            }
        };
        let sub = recovery::Submission {
            method: str_field(&v, "method"),
            email: str_field(&v, "email"),
            code: str_field(&v, "code"),
            csrf_token: str_field(&v, "csrf_token"),
        };
        match recovery::submit(&r, &req, f, sub)
            .await
            .map_err(|e| (e, api))?
        {
            recovery::Outcome::Flow(f) => {
                let status = code_flow_status(&f);
                let req = crate::selfservice::request::FlowRequest {
                    next_csrf: None,
                    ..req
                };
                Ok(fr::respond_flow(&r, &f, &req, status, None))
            }
            recovery::Outcome::Recovered {
                flow,
                issued,
                settings,
            } => Ok(recovered(&r, &req, &flow, &issued, &settings)),
        }
    }
    .await;
    match result {
        Ok(res) => res,
        Err((e, api)) => error_response(&r, e, api || is_json).await,
    }
}

/// After a successful recovery: API clients get the flow with `continue_with` (session token and
/// settings flow); SPAs get 422 `browser_location_change_required` towards the settings UI; plain
/// browsers are sent there. Browsers receive the session cookie.
fn recovered(
    r: &Registry,
    req: &crate::selfservice::request::FlowRequest,
    f: &Flow,
    issued: &crate::session::manager::Issued,
    settings: &Flow,
) -> Response {
    if f.flow_type == FlowType::Api {
        return fr::flow_json(f, req, StatusCode::OK);
    }
    let now = r.clock.now();
    let url = flow::ui_redirect(r, Kind::Settings, settings.id);
    let mut res = if req.is_json {
        let e: Error = ApiError::new(422)
            .with_id(crate::error::id::BROWSER_LOCATION_CHANGE_REQUIRED)
            .with_reason(format!(
                "In order to complete this flow please redirect the browser to: {url}"
            ))
            .with_message("browser location change required")
            .with_extra("redirect_browser_to", json!(url))
            .into();
        axum::response::IntoResponse::into_response(e)
    } else {
        see_other(&url)
    };
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        session_cookie::issue(r, &issued.token, issued.session.expires_at, now),
    );
    if let Some(secret) = &req.next_csrf {
        h.append(header::SET_COOKIE, session_cookie::csrf_cookie(r, secret));
    }
    res
}

/// `GET /self-service/verification?flow=&code=|token=`: the link from the email.
pub async fn verification_link(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
) -> Response {
    let is_json = super::extract::is_json_request(&headers);
    let result = async {
        let mut f = Flow::load(&r, flow_param(&raw)?, Kind::Verification).await?;
        let (secret, is_token) = match (param(&raw, "token"), param(&raw, "code")) {
            (Some(t), _) => (t, true),
            (None, Some(c)) => (c, false),
            _ => {
                return Err(Error::bad_request(
                    "The verification link carries no code or token.",
                ))
            }
        };
        if f.is_expired(r.clock.now()) {
            f.ui.reset_messages();
            f.ui.messages
                .push(crate::selfservice::text::verification_expired(0.0));
        } else if f.state != "passed_challenge" && {
            let (req, _) = build(&r, &headers, &uri, ci, false).await?;
            let client = req.client_address.as_deref();
            !verification::check(&r, client, &mut f, &secret, is_token).await?
        } {
            f.ui.reset_messages();
            f.ui.messages.push(if is_token {
                crate::selfservice::text::verification_token_invalid()
            } else {
                crate::selfservice::text::verification_code_invalid()
            });
        }
        f.save(&r).await?;
        let after = r
            .config
            .selfservice
            .flows
            .verification
            .after
            .get("default_browser_return_url")
            .and_then(Value::as_str)
            .map(str::to_string);
        let dest = match (&f.state[..], after) {
            ("passed_challenge", Some(a)) => a,
            _ => flow::ui_redirect(&r, Kind::Verification, f.id),
        };
        if is_json {
            return Ok(json_response(StatusCode::OK, &f.to_json("")));
        }
        Ok(see_other(&dest))
    }
    .await;
    match result {
        Ok(res) => res,
        Err(e) => error_response(&r, e, is_json).await,
    }
}

/// `GET /self-service/recovery?flow=&token=`: the recovery link from the email (or admin API).
pub async fn recovery_link(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
) -> Response {
    let is_json = super::extract::is_json_request(&headers);
    let result = async {
        let mut f = Flow::load(&r, flow_param(&raw)?, Kind::Recovery).await?;
        let token = param(&raw, "token")
            .ok_or_else(|| Error::bad_request("The recovery link carries no token."))?;
        let (mut req, _) = build(&r, &headers, &uri, ci, false).await?;
        req.next_csrf = Some(csrf::new_secret());
        let now = r.clock.now();
        let outcome = if f.is_expired(now) || f.state == "passed_challenge" {
            None
        } else {
            recovery::check(&r, &req, &mut f, &token, true).await?
        };
        match outcome {
            Some((issued, settings)) => {
                f.save(&r).await?;
                let req = crate::selfservice::request::FlowRequest {
                    is_json: false,
                    ..req
                };
                Ok(recovered(&r, &req, &f, &issued, &settings))
            }
            None => {
                let mut new = f.clone();
                new.ui.reset_messages();
                new.ui
                    .messages
                    .push(crate::selfservice::text::recovery_token_invalid());
                new.save(&r).await?;
                Ok(see_other(&flow::ui_redirect(&r, Kind::Recovery, new.id)))
            }
        }
    }
    .await;
    match result {
        Ok(res) => res,
        Err(e) => error_response(&r, e, is_json).await,
    }
}

/// `POST /admin/recovery/code`
pub async fn create_recovery_code_for_identity(
    State(r): State<Registry>,
    super::extract::KJson(body): super::extract::KJson<Value>,
) -> Result<Response> {
    if !recovery::is_enabled(&r) {
        return Err(Error::not_found_reason("This endpoint was disabled by system administrator. Please check your url or contact the system administrator to enable it."));
    }
    let identity_id = body
        .get("identity_id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::bad_request("identity_id is required"))
        .and_then(super::extract::parse_uuid)?;
    let expires_in = expires_in(&body, crate::selfservice::codes::lifespan(&r, "code"))?;
    let flow_type = match body.get("flow_type").and_then(Value::as_str) {
        None | Some("browser") => FlowType::Browser,
        Some("api") => FlowType::Api,
        Some(other) => {
            return Err(Error::bad_request(format!(
                "flow_type {other:?} is invalid"
            )))
        }
    };
    let (f, code) = recovery::admin_code(&r, identity_id, flow_type, expires_in).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"recovery_link": flow::ui_redirect(&r, Kind::Recovery, f.id), "recovery_code": code, "expires_at": crate::time::rfc3339(&f.expires_at)}),
    ))
}

/// `POST /admin/recovery/link`
pub async fn create_recovery_link_for_identity(
    State(r): State<Registry>,
    RawQuery(raw): RawQuery,
    super::extract::KJson(body): super::extract::KJson<Value>,
) -> Result<Response> {
    if !recovery::is_enabled(&r) {
        return Err(Error::not_found_reason("This endpoint was disabled by system administrator. Please check your url or contact the system administrator to enable it."));
    }
    let identity_id = body
        .get("identity_id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::bad_request("identity_id is required"))
        .and_then(super::extract::parse_uuid)?;
    let expires_in = expires_in(&body, crate::selfservice::codes::lifespan(&r, "link"))?;
    let return_to =
        crate::selfservice::return_to::checked_return_to(&r, param(&raw, "return_to").as_deref())?;
    let (f, token) = recovery::admin_link(&r, identity_id, expires_in, return_to).await?;
    let link = format!(
        "{}/self-service/recovery?flow={}&token={token}",
        r.public_base, f.id
    );
    let mut res = json_response(
        StatusCode::OK,
        &json!({"recovery_link": link, "expires_at": crate::time::rfc3339(&f.expires_at)}),
    );
    // Kratos leaves `&` unescaped in this answer.
    let text = serde_json::to_string(
        &json!({"recovery_link": link, "expires_at": crate::time::rfc3339(&f.expires_at)}),
    )
    .unwrap_or_default()
        + "\n";
    *res.body_mut() = axum::body::Body::from(text);
    Ok(res)
}

fn expires_in(body: &Value, default: chrono::Duration) -> Result<chrono::Duration> {
    match body.get("expires_in") {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) if s.is_empty() => Ok(default),
        Some(Value::String(s)) => crate::time::parse_duration(s)
            .filter(|d| *d > chrono::Duration::zero())
            .ok_or_else(|| Error::bad_request(format!("Unable to parse \"expires_in\" whose format should match \"[0-9]+(ns|us|ms|s|m|h)\" but did not: {s}"))),
        Some(_) => Err(Error::bad_request("expires_in must be a duration string such as \"1h\"")),
    }
}
