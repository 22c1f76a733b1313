//! The login flow with the password method: init (browser and native), get, submit.

use super::csrf::ensure_csrf;
use super::flow::{self, Flow, FlowType, Kind};
use super::request::FlowRequest;
use super::return_to::checked_return_to;
use super::strategy::{self, LoggedIn};
use super::text;
use crate::error::{id, ApiError, Error, Result};
use crate::identity::Identity;
use crate::registry::Registry;
use crate::session::manager::Issued;
use crate::session::{Aal, AuthenticationMethod};

/// Query parameters of the init endpoints.
#[derive(Debug, Default)]
pub struct InitQuery {
    pub refresh: bool,
    pub aal: Option<String>,
    pub return_to: Option<String>,
}

pub use super::strategy::Submission;

pub enum Outcome {
    /// The flow with messages to show (wrong password, missing field, …).
    Invalid(Box<Flow>),
    /// Logged in: the session, its token, and where a browser goes next.
    Success {
        flow: Box<Flow>,
        issued: Box<Issued>,
        redirect_to: String,
    },
}

/// 400 `session_already_available`.
pub fn already_logged_in() -> Error {
    ApiError::new(400)
        .with_id(id::SESSION_ALREADY_AVAILABLE)
        .with_reason("A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?")
        .with_message("A valid session was detected and thus login is not possible.")
        .into()
}

/// 401 `session_aal1_required`: a higher level asked for without a session.
pub fn aal1_required() -> Error {
    ApiError::new(401)
        .with_id(id::SESSION_AAL1_REQUIRED)
        .with_reason("You can not requested a higher AAL (AAL2/AAL3) without an active session.")
        .with_message("aal2 and aal3 can only be requested if a session exists already")
        .into()
}

/// 403 `session_aal2_required`: the session must complete a second factor first; the browser
/// is sent to an aal2 login flow (returning to `return_to` when given).
pub fn aal2_required(r: &Registry, return_to: Option<&str>) -> Error {
    let url = aal2_login_url(r, return_to);
    ApiError::new(403)
        .with_id(id::SESSION_AAL2_REQUIRED)
        .with_reason("An active session was found but it does not fulfill the requested Authenticator Assurance Level. Please verify yourself with a second factor to resolve this issue.")
        .with_message("Session does not fulfill the requested Authenticator Assurance Level")
        .with_detail("redirect_browser_to", url.clone())
        .with_extra("redirect_browser_to", url)
        .into()
}

/// Where a browser completes its second factor: an aal2 login flow, then `return_to`.
pub fn aal2_login_url(r: &Registry, return_to: Option<&str>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("aal", "aal2");
    if let Some(rt) = return_to {
        q.append_pair("return_to", rt);
    }
    format!(
        "{}/self-service/login/browser?{}",
        r.public_base,
        q.finish()
    )
}

/// Whether `session.whoami.required_aal` lets this session through as it is.
pub fn whoami_allows(r: &Registry, session: &crate::session::Session) -> bool {
    use crate::session::required_aal::{satisfies, RequiredAal};
    let required = RequiredAal::from_config(Some(r.config.session.whoami.required_aal.as_str()));
    satisfies(session, required)
}

/// Refuse a session that `session.whoami.required_aal` does not allow (whoami, the session list).
pub fn check_whoami_aal(r: &Registry, session: &crate::session::Session) -> Result<()> {
    if whoami_allows(r, session) {
        Ok(())
    } else {
        Err(aal2_required(r, None))
    }
}

pub async fn init(
    r: &Registry,
    req: &FlowRequest,
    flow_type: FlowType,
    q: InitQuery,
) -> Result<Flow> {
    let aal = match q.aal.as_deref().filter(|a| !a.is_empty()).map(Aal::parse) {
        None | Some(Some(Aal::Aal1)) => Aal::Aal1,
        Some(Some(Aal::Aal2)) => Aal::Aal2,
        Some(_) => {
            return Err(Error::bad_request(format!(
                "Unable to parse AuthenticationMethod Assurance Level (AAL): expected one of [aal1, aal2] but got {}",
                q.aal.as_deref().unwrap_or_default().to_ascii_lowercase()
            )))
        }
    };
    let return_to = checked_return_to(r, q.return_to.as_deref())?;
    if aal == Aal::Aal2 && req.current.is_none() {
        return Err(aal1_required());
    }
    if let Some((session, _)) = &req.current {
        if !q.refresh && (aal == Aal::Aal1 || session.aal == Aal::Aal2) {
            return Err(already_logged_in());
        }
    }
    let mut f = Flow::new(r, Kind::Login, flow_type, req.url.clone(), return_to);
    f.requested_aal = aal;
    f.refresh = q.refresh && req.current.is_some();
    f.guard(Some(
        req.csrf_cookie
            .clone()
            .filter(|_| req.csrf_secret.is_some())
            .unwrap_or_default(),
    ));
    // An aal2 flow's second factors, and what a refresh re-checks, are those the session's
    // identity has: read it once for all.
    let owner = match &req.current {
        Some((s, _)) if aal == Aal::Aal2 || f.refresh => {
            r.persister.get_identity(s.identity_id, true).await?
        }
        _ => None,
    };
    strategy::draw(r, req, &mut f, owner.as_ref()).await?;
    if aal == Aal::Aal2 {
        // No first factor draws at aal2, so the refresh note is said here, before the challenge.
        if f.refresh {
            f.ui.messages.push(text::refresh_confirm());
        }
        f.ui.messages.push(text::second_factor_challenge());
    }
    f.save(r).await?;
    Ok(f)
}

/// Replace an expired flow by a new one and answer 410 pointing at it.
pub async fn expired(r: &Registry, req: &FlowRequest, old: &Flow) -> Error {
    let q = InitQuery {
        refresh: old.refresh,
        aal: Some(old.requested_aal.as_str().to_string()),
        return_to: old.return_to.clone(),
    };
    let new = init(r, req, old.flow_type, q).await;
    flow::replace_expired(r, old, new, text::login_expired).await
}

pub async fn submit(
    r: &Registry,
    req: &FlowRequest,
    mut f: Flow,
    body: Submission,
) -> Result<Outcome> {
    let now = r.clock.now();
    ensure_csrf(&f, req, body.csrf_token.as_deref())?;
    if f.is_expired(now) {
        return Err(expired(r, req, &f).await);
    }
    let missing = text::no_login_strategy();
    let Some(method) = super::submission::method_for(r, req, &mut f, &body, missing).await? else {
        return Ok(Outcome::Invalid(Box::new(f)));
    };
    if let Some((s, _)) = &req.current {
        if !f.refresh && (f.requested_aal == Aal::Aal1 || s.aal == Aal::Aal2) {
            f.ui.messages.push(text::generic_error(
                "A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?",
            ));
            f.save(r).await?;
            return Ok(Outcome::Invalid(Box::new(f)));
        }
    }
    let Some(LoggedIn {
        identity,
        method: amr,
        identifier,
    }) = method.login(r, req, &mut f, &body.fields).await?
    else {
        f.save(r).await?;
        return Ok(Outcome::Invalid(Box::new(f)));
    };
    if !identity.is_active() {
        return Err(ApiError::new(401)
            .with_reason("This account was disabled.")
            .with_message("identity is disabled")
            .into());
    }
    super::hooks::require_verified_address(
        r,
        req,
        f.flow_type,
        method.id(),
        &identity,
        &identifier,
    )
    .await?;
    if let Some((s, _)) = &req.current {
        if (f.refresh || f.requested_aal == Aal::Aal2) && s.identity_id != identity.id {
            f.ui.messages.push(text::invalid_credentials());
            f.save(r).await?;
            return Ok(Outcome::Invalid(Box::new(f)));
        }
    }
    // One successful submission per flow, even when two race.
    if !f.pass_challenge(r).await? {
        f.ui.messages.push(text::already_completed());
        return Ok(Outcome::Invalid(Box::new(f)));
    }
    let in_place = f.refresh || f.requested_aal == Aal::Aal2;
    let issued = sign_in(r, req, in_place, &identity, amr).await?;
    f.ui.clear_secrets();
    f.save(r).await?;
    let redirect_to = after_login_url(r, &f);
    Ok(Outcome::Success {
        flow: Box::new(f),
        issued: Box::new(issued),
        redirect_to,
    })
}

/// The session of a successful login. A refresh or a second factor re-authenticates the caller's
/// session in place, as Kratos does (same id, same token, so a native app keeps its token);
/// otherwise a new one.
async fn sign_in(
    r: &Registry,
    req: &FlowRequest,
    in_place: bool,
    identity: &Identity,
    amr: AuthenticationMethod,
) -> Result<Issued> {
    let device = req.device.clone();
    let sessions = r.sessions();
    match req.current.clone().filter(|_| in_place) {
        Some(current) => sessions
            .reauthenticate(current, identity, amr, device)
            .await?
            .ok_or_else(|| Error::session_inactive("No active session was found in this request.")),
        None => sessions.issue(identity, vec![amr], device).await,
    }
}

/// Where a browser goes after login: the flow's `return_to`, else the configured after-login URL.
pub fn after_login_url(r: &Registry, f: &Flow) -> String {
    flow::after_url(r, f, &r.config.selfservice.flows.login.after)
}
