//! `POST /self-service/registration`: a registration submission, with the session (if the `session`
//! hook runs) and the verification flows it starts.

use super::error::json_response;
use super::extract::{ClientInfo, KBytes};
use super::flow_request::{
    self as fr, already_in_redirect, error_response, invalid_flow, see_other,
};
use super::flow_submit::*;
use crate::identity::wire::{identity_json, View};
use crate::registry::Registry;
use crate::selfservice::flow::{FlowType, Kind};
use crate::selfservice::{csrf, registration, verification};
use crate::session::wire::session_json;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

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
    let mut v = v;
    if is_form {
        if let Some(t) = v.get_mut("traits") {
            registration::coerce_form_traits(&r.schemas.default_schema().raw, t);
        }
    }
    let sub = registration::Submission::read(v.clone());
    if !api && !req.is_json && req.current.is_some() {
        return fr::found(&already_in_redirect(&r, f.return_to.as_deref()));
    }
    let mut req = req;
    let method = sub.method.clone().unwrap_or_default();
    if !api && crate::selfservice::hooks::session_after_registration(&r, &method) {
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
