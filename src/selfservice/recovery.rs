//! The recovery flow (`code` by default, or `link`): send a one-time code or link to a recovery
//! address; a valid one logs the identity in with a privileged session and continues into a
//! settings flow. Unknown addresses get the same answer as known ones.

use super::csrf::ensure_csrf;
use super::flow::{Flow, FlowState, FlowType, Kind};
use super::request::FlowRequest;
use super::return_to::checked_return_to;
use super::strategy::address::{self, AddressMethod};
use super::strategy::code::{self, Purpose};
use super::text;
use super::ui::Node;
use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::session::manager::Issued;
use crate::session::AuthenticationMethod;
use serde_json::json;

pub use super::strategy::address::Submission;

pub enum Outcome {
    /// The flow to show (code sent, wrong code, …).
    Flow(Box<Flow>),
    /// Recovered: a privileged session and the settings flow to continue in.
    Recovered {
        flow: Box<Flow>,
        issued: Box<Issued>,
        settings: Box<Flow>,
    },
}

pub fn is_enabled(r: &Registry) -> bool {
    r.config.selfservice.flows.recovery.enabled.unwrap_or(false)
}

fn disabled() -> Error {
    Error::bad_request("Recovery is not allowed because it was disabled.")
}

pub async fn init(
    r: &Registry,
    req: &FlowRequest,
    flow_type: FlowType,
    return_to: Option<&str>,
) -> Result<Flow> {
    if !is_enabled(r) {
        return Err(disabled());
    }
    let return_to = checked_return_to(r, return_to)?;
    if req.current.is_some() {
        return Err(super::registration::already_registered_reason(
            "A valid session was detected and thus recovery is not possible.",
        ));
    }
    new_flow(r, req, flow_type, return_to).await
}

async fn new_flow(
    r: &Registry,
    req: &FlowRequest,
    flow_type: FlowType,
    return_to: Option<String>,
) -> Result<Flow> {
    address::new_flow(r, req, Purpose::Recovery, flow_type, return_to).await
}

pub async fn expired(r: &Registry, req: &FlowRequest, old: &Flow) -> Error {
    let new = new_flow(r, req, old.flow_type, old.return_to.clone()).await;
    super::flow::replace_expired(r, old, new, text::recovery_expired).await
}

/// Check a code or link token; on success, log in with a privileged session and open settings.
pub async fn check(
    r: &Registry,
    req: &FlowRequest,
    f: &mut Flow,
    secret: &str,
    is_link_token: bool,
) -> Result<Option<(Issued, Flow)>> {
    let now = r.clock.now();
    let method = if is_link_token {
        "link_recovery"
    } else {
        "code_recovery"
    };
    let client = req.client_address.as_deref();
    let redeemed = code::redeem(r, client, Purpose::Recovery, f.id, secret, is_link_token).await?;
    let Some(code) = redeemed else {
        return Ok(None);
    };
    let Some(identity_id) = code.identity_id else {
        return Ok(None);
    };
    let Some(identity) = r
        .persister
        .get_identity(identity_id, true)
        .await?
        .filter(|i| i.is_active())
    else {
        return Ok(None);
    };
    // Recovering through an address proves control of it.
    r.sessions()
        .modify_identity(identity.id, |i| i.mark_address_verified(&code.address, now))
        .await?;
    let m = AuthenticationMethod::first_factor(method, now);
    let device = req.device.clone();
    let issued = r.sessions().issue(&identity, vec![m], device).await?;
    let mut settings =
        super::settings::create(r, req, f.flow_type, &identity, f.return_to.clone()).await?;
    settings.ui.messages.push(text::recovery_success());
    settings.save(r).await?;
    f.state = FlowState::PassedChallenge;
    f.ui.nodes.retain(|n| n.name() == "csrf_token");
    let mut item = json!({"action": "show_settings_ui", "flow": {"id": settings.id}});
    if f.flow_type == FlowType::Browser {
        item["flow"]["url"] = json!(super::flow::ui_redirect(r, Kind::Settings, settings.id));
    }
    f.continue_with = Vec::new();
    if f.flow_type == FlowType::Api {
        f.continue_with
            .push(json!({"action": "set_ory_session_token", "ory_session_token": issued.token}));
    }
    f.continue_with.push(item);
    Ok(Some((issued, settings)))
}

pub async fn submit(
    r: &Registry,
    req: &FlowRequest,
    mut f: Flow,
    body: Submission,
) -> Result<Outcome> {
    if !is_enabled(r) {
        return Err(disabled());
    }
    let now = r.clock.now();
    ensure_csrf(&f, req, body.csrf_token.as_deref())?;
    if f.is_expired(now) {
        return Err(expired(r, req, &f).await);
    }
    let m = address::in_use(r, Purpose::Recovery);
    match address::step(m, &mut f, &body, 4060001, false) {
        address::Step::Check(code) => match check(r, req, &mut f, &code, false).await? {
            Some((issued, settings)) => {
                f.save(r).await?;
                return Ok(Outcome::Recovered {
                    flow: Box::new(f),
                    issued: Box::new(issued),
                    settings: Box::new(settings),
                });
            }
            None => {
                address::Code.sent(Purpose::Recovery, &mut f, None);
                f.ui.messages.push(text::recovery_code_invalid());
            }
        },
        address::Step::Send(to) => {
            let client = req.client_address.as_deref();
            address::send(r, client, Purpose::Recovery, &mut f, &to).await?;
        }
        address::Step::Invalid => {}
        address::Step::Done => return Ok(Outcome::Flow(Box::new(f))),
    }
    f.save(r).await?;
    Ok(Outcome::Flow(Box::new(f)))
}

/// A code or link token for an admin-made flow, bound to the identity's first recovery address.
async fn admin_secret(
    r: &Registry,
    f: &Flow,
    identity: &crate::identity::Identity,
    is_link: bool,
    expires: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let address = identity
        .recovery_addresses
        .first()
        .map(|a| a.value.clone())
        .unwrap_or_default();
    code::issue(
        r,
        Purpose::Recovery,
        is_link,
        f.id,
        identity.id,
        &address,
        expires,
    )
    .await
}

/// An admin-made recovery flow for an identity (`unknown` when there is none), its secret about
/// to be sent by `method`, expiring in `expires_in`.
async fn admin_flow(
    r: &Registry,
    identity_id: crate::ids::IdentityId,
    unknown: Error,
    flow_type: FlowType,
    method: &dyn AddressMethod,
    expires_in: chrono::Duration,
) -> Result<(crate::identity::Identity, Flow)> {
    let Some(identity) = r.persister.get_identity(identity_id, false).await? else {
        return Err(unknown);
    };
    let url = format!("{}/admin/recovery/{}", r.admin_base, method.id());
    let mut f = Flow::new(r, Kind::Recovery, flow_type, url, None);
    f.expires_at = r.clock.now() + expires_in;
    f.state = FlowState::SentEmail;
    f.active = Some(method.id().into());
    Ok((identity, f))
}

/// Admin: a recovery flow with a fresh code (`createRecoveryCodeForIdentity`).
pub async fn admin_code(
    r: &Registry,
    identity_id: crate::ids::IdentityId,
    flow_type: FlowType,
    expires_in: chrono::Duration,
) -> Result<(Flow, String)> {
    let unknown = Error::not_found_reason("The requested identity id does not exist.");
    let (identity, mut f) = admin_flow(
        r,
        identity_id,
        unknown,
        flow_type,
        &address::Code,
        expires_in,
    )
    .await?;
    let now = r.clock.now();
    if flow_type == FlowType::Browser {
        // The browser that will open this flow is not known yet: the code is the credential.
        f.ui.nodes
            .push(Node::input("default", "csrf_token", "hidden").required());
        f.skip_csrf = true;
    }
    address::Code.sent(Purpose::Recovery, &mut f, None);
    let code = admin_secret(r, &f, &identity, false, now + expires_in).await?;
    f.save(r).await?;
    Ok((f, code))
}

/// Admin: a recovery link (`createRecoveryLinkForIdentity`).
pub async fn admin_link(
    r: &Registry,
    identity_id: crate::ids::IdentityId,
    expires_in: chrono::Duration,
    return_to: Option<String>,
) -> Result<(Flow, String)> {
    let unknown = Error::bad_request("The requested identity id does not exist.");
    let browser = FlowType::Browser;
    let (identity, mut f) =
        admin_flow(r, identity_id, unknown, browser, &address::Link, expires_in).await?;
    f.return_to = return_to;
    let now = r.clock.now();
    f.ui.nodes
        .push(Node::input("default", "csrf_token", "hidden").required());
    f.skip_csrf = true;
    let token = admin_secret(r, &f, &identity, true, now + expires_in).await?;
    f.save(r).await?;
    Ok((f, token))
}
