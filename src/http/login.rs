//! `POST /self-service/login`: a login submission, answered as Kratos answers API clients, SPAs and
//! plain browsers.

use super::error::json_response;
use super::extract::{ClientInfo, KBytes};
use super::flow_request::{already_in_redirect, invalid_flow, see_other};
use super::flow_submit::*;
use crate::registry::Registry;
use crate::selfservice::flow::{FlowType, Kind};
use crate::selfservice::login;
use crate::session::wire::session_json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

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
    let sub = login::Submission::read(v.clone());
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
            flow,
        }) => {
            let mut session = session_json(&issued.session, now, &r.public_base, FULL);
            if !login::whoami_allows(&r, &issued.session) {
                // Signed in, but a second factor is due before the session counts: the app
                // gets the session without its identity, a browser is sent to the aal2 login.
                let aal2 = login::aal2_login_url(&r, flow.return_to.as_deref());
                if api {
                    session["identity"] = Value::Null;
                } else {
                    let res = super::flow_request::location_change(&aal2, req.is_json);
                    return append_cookies(res, login_cookies(&r, &issued));
                }
            }
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
