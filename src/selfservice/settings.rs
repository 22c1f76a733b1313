//! The settings flow: the `profile` method (traits) and the `password` method, both behind a
//! privileged (recent) session, and the `revoke_active_sessions` after-hook.

use super::csrf::ensure_csrf;
use super::flow::{Flow, FlowState, FlowType, Kind};
use super::request::FlowRequest;
use super::return_to::checked_return_to;
use super::strategy::{self, Changed};
use super::text;
use super::ui::Message;
use crate::error::{id, ApiError, Error, Result};
use crate::identity::Identity;
use crate::registry::Registry;
use crate::session::Session;

pub use super::strategy::Submission;

/// Refuse a session that `selfservice.flows.settings.required_aal` does not allow; the browser
/// comes back to `return_to` after its second factor.
pub fn check_aal(r: &Registry, session: &Session, return_to: Option<&str>) -> Result<()> {
    use crate::session::required_aal::{satisfies, RequiredAal};
    let configured = r.config.selfservice.flows.settings.required_aal.as_deref();
    if satisfies(session, RequiredAal::from_config(configured)) {
        Ok(())
    } else {
        Err(super::login::aal2_required(r, return_to))
    }
}

pub fn no_session() -> Error {
    Error::session_inactive("No active session was found in this request.")
}

/// Build the nodes of a settings flow for an identity: every enabled method's (traits filled in).
async fn draw(r: &Registry, req: &FlowRequest, f: &mut Flow, identity: &Identity) -> Result<()> {
    f.ui.nodes.retain(|n| n.name() == "csrf_token");
    strategy::draw(r, req, f, Some(identity)).await
}

/// Create a settings flow for an identity (also used after a successful recovery).
pub async fn create(
    r: &Registry,
    req: &FlowRequest,
    flow_type: FlowType,
    identity: &Identity,
    return_to: Option<String>,
) -> Result<Flow> {
    let mut f = Flow::new(r, Kind::Settings, flow_type, req.url.clone(), return_to);
    f.state = FlowState::ShowForm;
    f.identity_id = Some(identity.id);
    f.guard(req.next_csrf.clone().or_else(|| req.csrf_cookie.clone()));
    draw(r, req, &mut f, identity).await?;
    f.save(r).await?;
    Ok(f)
}

pub async fn init(
    r: &Registry,
    req: &FlowRequest,
    flow_type: FlowType,
    return_to: Option<&str>,
) -> Result<(Flow, Identity)> {
    let return_to = checked_return_to(r, return_to)?;
    let (session, _) = req.current.as_ref().ok_or_else(no_session)?;
    check_aal(r, session, None)?;
    let identity = r
        .persister
        .get_identity(session.identity_id, true)
        .await?
        .ok_or_else(no_session)?;
    let f = create(r, req, flow_type, &identity, return_to).await?;
    Ok((f, identity))
}

/// A session is privileged while it was authenticated within `privileged_session_max_age` (1h).
pub fn is_privileged(r: &Registry, s: &Session) -> bool {
    let max = r
        .config
        .selfservice
        .flows
        .settings
        .privileged_session_max_age
        .map(|d| d.0)
        .unwrap_or_else(|| chrono::Duration::hours(1));
    s.authenticated_at + max > r.clock.now()
}

/// 403 `session_refresh_required`, pointing at a login refresh that returns to this flow.
pub fn refresh_required(r: &Registry, f: &Flow) -> Error {
    let back = super::flow::ui_redirect(r, Kind::Settings, f.id);
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("refresh", "true");
    q.append_pair("return_to", &back);
    let url = format!(
        "{}/self-service/login/browser?{}",
        r.public_base,
        q.finish()
    );
    ApiError::new(403)
        .with_id(id::SESSION_REFRESH_REQUIRED)
        .with_reason("The login session is too old and thus not allowed to update these fields. Please re-authenticate.")
        .with_message("The requested action was forbidden")
        .with_detail("redirect_browser_to", url.clone())
        .with_extra("redirect_browser_to", url)
        .into()
}

pub enum Outcome {
    /// Saved or invalid: the flow (state `success` with message 1050001 when saved).
    Flow(Box<Flow>, Box<Identity>),
    /// A method's next step to show (backup codes revealed or generated): answered 200, and a
    /// browser goes back to the flow's page.
    Shown(Box<Flow>, Box<Identity>),
}

/// The identity of the caller's session, which must be the one the flow was created for.
async fn owner(r: &Registry, req: &FlowRequest, f: &Flow) -> Result<Identity> {
    let (session, _) = req.current.as_ref().ok_or_else(no_session)?;
    if f.identity_id != Some(session.identity_id) {
        return Err(ApiError::new(403)
            .with_id(id::SECURITY_IDENTITY_MISMATCH)
            .with_reason("The flow was initiated for another identity.")
            .with_message("The requested action was forbidden")
            .into());
    }
    check_aal(
        r,
        session,
        Some(&super::flow::ui_redirect(r, Kind::Settings, f.id)),
    )?;
    r.persister
        .get_identity(session.identity_id, true)
        .await?
        .ok_or_else(no_session)
}

/// A submission whose body could not be read: for the flow's owner, the flow with the reason as
/// its message (saved); anyone else gets the error a submission would.
pub async fn reject_body(
    r: &Registry,
    req: &FlowRequest,
    mut f: Flow,
    reason: &str,
) -> Result<(Flow, Identity)> {
    let identity = owner(r, req, &f).await?;
    f.mark_unreadable(reason, r.clock.now());
    f.save(r).await?;
    Ok((f, identity))
}

pub async fn submit(
    r: &Registry,
    req: &FlowRequest,
    mut f: Flow,
    body: Submission,
) -> Result<Outcome> {
    let now = r.clock.now();
    ensure_csrf(&f, req, body.csrf_token.as_deref())?;
    let mut identity = owner(r, req, &f).await?;
    let (session, _) = req.current.as_ref().ok_or_else(no_session)?;
    if f.is_expired(now) {
        let new = create(r, req, f.flow_type, &identity, f.return_to.clone()).await;
        return Err(super::flow::replace_expired(r, &f, new, text::settings_expired).await);
    }
    f.ui.reset_messages();
    f.state = FlowState::ShowForm;
    draw(r, req, &mut f, &identity).await?;
    // Some fields name their method by themselves (`totp_unlink`, the backup-code buttons).
    let claimed = strategy::for_flow(r, &f).find(|s| s.claims(&body.fields));
    let named = claimed.map(|s| s.id()).or(body.method.as_deref());
    let Some(method) = strategy::find(r, &f, named) else {
        f.ui.messages.push(Message::error(4010004, "Could not find a strategy to update your settings. Did you fill out the form correctly?"));
        f.save(r).await?;
        return Ok(Outcome::Flow(Box::new(f), Box::new(identity)));
    };
    f.active = Some(method.id().into());
    match method
        .update_settings(r, req, &mut f, session, &identity, &body.fields)
        .await?
    {
        Changed::Invalid => {
            f.save(r).await?;
            return Ok(Outcome::Flow(Box::new(f), Box::new(identity)));
        }
        Changed::Shown => {
            f.save(r).await?;
            return Ok(Outcome::Shown(Box::new(f), Box::new(identity)));
        }
        Changed::Saved(updated) => identity = *updated,
    }
    if super::hooks::revoke_after_settings(r, method.id()) {
        r.sessions().revoke_others(identity.id, session.id).await?;
    }
    draw(r, req, &mut f, &identity).await?;
    f.state = FlowState::Success;
    f.ui.messages.push(text::settings_saved());
    f.ui.clear_secrets();
    f.save(r).await?;
    Ok(Outcome::Flow(Box::new(f), Box::new(identity)))
}
