//! Recovery: the submission, the link from the email, and the admin endpoints that make a code or
//! link for an identity.

use super::error::json_response;
use super::extract::{ClientInfo, KBytes};
use super::flow_request::{self as fr, build, error_response, flow_param, param, see_other};
use super::flow_submit::*;
use super::session_cookie;
use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::selfservice::flow::{self, Flow, FlowState, FlowType, Kind};
use crate::selfservice::{csrf, recovery};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

/// `POST /self-service/recovery?flow=`
pub async fn update_recovery_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
    KBytes(body): KBytes,
) -> Response {
    let (f, mut req, v) =
        match submission(&r, Kind::Recovery, &headers, &uri, &ci, &raw, &body).await {
            Ok(x) => x,
            Err(res) => return res,
        };
    let api = f.flow_type == FlowType::Api;
    let sub = recovery::Submission::read(&v);
    if !api {
        // A recovered browser is a new principal: its anti-CSRF secret is new.
        req.next_csrf = Some(csrf::new_secret());
    }
    match recovery::submit(&r, &req, f, sub).await {
        Ok(recovery::Outcome::Flow(f)) => {
            req.next_csrf = None;
            fr::respond_flow(&r, &f, &req, code_flow_status(&f), None)
        }
        Ok(recovery::Outcome::Recovered {
            flow,
            issued,
            settings,
        }) => recovered(&r, &req, &flow, &issued, &settings),
        Err(e) => error_response(&r, e, api || req.is_json).await,
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
    let mut res = fr::location_change(&url, req.is_json);
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
        let outcome = if f.is_expired(now) || f.state == FlowState::PassedChallenge {
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
    let identity_id = admin_request(&r, &body)?;
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
    let identity_id = admin_request(&r, &body)?;
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

/// The checks both admin endpoints make: recovery is enabled, and the body names an identity.
fn admin_request(r: &Registry, body: &Value) -> Result<crate::ids::IdentityId> {
    if !recovery::is_enabled(r) {
        return Err(Error::not_found_reason("This endpoint was disabled by system administrator. Please check your url or contact the system administrator to enable it."));
    }
    body.get("identity_id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::bad_request("identity_id is required"))
        .and_then(super::extract::parse_uuid)
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
