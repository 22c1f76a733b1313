//! `POST /self-service/settings`: a settings submission (profile or password), guarded by the session.

use super::extract::{ClientInfo, KBytes};
use super::flow_request::{self as fr, build, error_response, flow_param, parse_body, see_other};
use crate::error::Error;
use crate::identity::wire::{identity_json, View};
use crate::registry::Registry;
use crate::selfservice::flow::{self, Flow, FlowState, FlowType, Kind};
use crate::selfservice::settings;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

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
        let mut v = v;
        if !headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .unwrap_or("")
            .starts_with("application/json")
        {
            if let Some(t) = v.get_mut("traits") {
                crate::selfservice::registration::coerce_form_traits(
                    &r.schemas.default_schema().raw,
                    t,
                );
            }
        }
        let sub = settings::Submission::read(v.clone());
        let api = f.flow_type == FlowType::Api;
        let outcome = settings::submit(&r, &req, f, sub)
            .await
            .map_err(|e| (e, api))?;
        let (f, identity, status) = match outcome {
            settings::Outcome::Shown(f, identity) => {
                if !api && !req.is_json {
                    return Ok(see_other(&flow::ui_redirect(&r, Kind::Settings, f.id)));
                }
                (f, identity, StatusCode::OK)
            }
            settings::Outcome::Flow(f, identity) if f.state == FlowState::Success => {
                (f, identity, StatusCode::OK)
            }
            settings::Outcome::Flow(f, identity) => (f, identity, StatusCode::BAD_REQUEST),
        };
        let identity = identity_json(&identity, &r.public_base, View::Public);
        if !api && !req.is_json && f.state == FlowState::Success {
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
        Err((e, api)) => error_response(&r, e, api || is_json).await,
    }
}
