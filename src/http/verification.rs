//! Verification: the submission (`POST /self-service/verification`) and the link or code from the
//! email (`GET /self-service/verification?flow=&code=|token=`).

use super::error::json_response;
use super::extract::{ClientInfo, KBytes};
use super::flow_request::{self as fr, error_response, flow_param, param, see_other};
use super::flow_submit::*;
use crate::error::Error;
use crate::registry::Registry;
use crate::selfservice::flow::{self, Flow, FlowState, FlowType, Kind};
use crate::selfservice::verification;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

/// `POST /self-service/verification?flow=`
pub async fn update_verification_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    ci: ClientInfo,
    RawQuery(raw): RawQuery,
    KBytes(body): KBytes,
) -> Response {
    let (f, req, v) =
        match submission(&r, Kind::Verification, &headers, &uri, &ci, &raw, &body).await {
            Ok(x) => x,
            Err(res) => return res,
        };
    let api = f.flow_type == FlowType::Api;
    let sub = verification::Submission::read(&v);
    match verification::submit(&r, &req, f, sub).await {
        Ok(f) => fr::respond_flow(&r, &f, &req, code_flow_status(&f), None),
        Err(e) => error_response(&r, e, api || req.is_json).await,
    }
}

/// `GET /self-service/verification?flow=&code=|token=`: the link from the email.
pub async fn verification_link(
    State(r): State<Registry>,
    headers: HeaderMap,
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
        } else if f.state != FlowState::PassedChallenge && {
            let client = fr::client_address(&r, &headers, &ci);
            !verification::check(&r, client.as_deref(), &mut f, &secret, is_token).await?
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
        let dest = match (f.state, after) {
            (FlowState::PassedChallenge, Some(a)) => a,
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
