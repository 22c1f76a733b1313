//! The endpoints every flow shares: browser and native init (`GET /self-service/<flow>/browser|api`)
//! and get (`GET /self-service/<flow>/flows?id=`), answered in each client's style.

use super::extract::ClientInfo;
use super::flow_request::{
    self as fr, already_in_redirect, build, error_response, flow_id, get, see_other, show_flow,
    truthy, with_cookie,
};
use super::identities::query_pairs;
use crate::error::{id, Error, Result};
use crate::identity::wire::{identity_json, View};
use crate::registry::Registry;
use crate::selfservice::flow::{Flow, FlowType, Kind};
use crate::selfservice::request::FlowRequest;
use crate::selfservice::{login, recovery, registration, settings, verification};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

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

macro_rules! init_handlers {
    ($($name:ident => $kind:expr, $ty:expr;)*) => {$(
        /// `GET /self-service/<flow>/browser|api`: a new flow (see the route table).
        pub async fn $name(State(r): State<Registry>, headers: HeaderMap, uri: Uri, ci: ClientInfo, RawQuery(raw): RawQuery) -> Response {
            init(r, $kind, $ty, headers, uri, ci, raw).await
        }
    )*};
}

init_handlers! {
    create_browser_login_flow => Kind::Login, FlowType::Browser;
    create_native_login_flow => Kind::Login, FlowType::Api;
    create_browser_registration_flow => Kind::Registration, FlowType::Browser;
    create_native_registration_flow => Kind::Registration, FlowType::Api;
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
        let back = crate::selfservice::flow::ui_redirect(&r, Kind::Settings, f.id);
        settings::check_aal(&r, session, Some(&back))?;
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
