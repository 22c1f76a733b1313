//! The verification flow (`code` by default, or `link`): send a one-time code or link to a
//! verifiable address, check it, mark the address verified. Unknown addresses get the same answer as
//! known ones (and an email only where `notify_unknown_recipients` says so).

use super::csrf::ensure_csrf;
use super::flow::{Flow, FlowState, FlowType, Kind};
use super::request::FlowRequest;
use super::return_to::checked_return_to;
use super::strategy::address;
use super::strategy::code::{self, Purpose};
use super::text;
use super::ui::Node;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::registry::Registry;
use serde_json::{json, Value};

pub use super::strategy::address::Submission;

pub fn is_enabled(r: &Registry) -> bool {
    r.config
        .selfservice
        .flows
        .verification
        .enabled
        .unwrap_or(false)
}

fn disabled() -> Error {
    Error::bad_request("Verification is not allowed because it was disabled.")
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
    address::new_flow(r, req, Purpose::Verification, flow_type, return_to).await
}

pub async fn expired(r: &Registry, req: &FlowRequest, old: &Flow) -> Error {
    let new = init(r, req, old.flow_type, old.return_to.as_deref()).await;
    super::flow::replace_expired(r, old, new, text::verification_expired).await
}

/// Check a code or link token for flow `f`; on success the address is verified.
pub async fn check(
    r: &Registry,
    client: Option<&str>,
    f: &mut Flow,
    secret: &str,
    is_link_token: bool,
) -> Result<bool> {
    let now = r.clock.now();
    let purpose = Purpose::Verification;
    let redeemed = code::redeem(r, client, purpose, f.id, secret, is_link_token).await?;
    let Some(code) = redeemed else {
        return Ok(false);
    };
    if let Some(identity_id) = code.identity_id {
        r.sessions()
            .modify_identity(identity_id, |i| i.mark_address_verified(&code.address, now))
            .await?;
    }
    f.state = FlowState::PassedChallenge;
    f.ui.nodes.retain(|n| n.name() == "csrf_token");
    let href = f
        .return_to
        .clone()
        .or_else(|| r.config.selfservice.default_browser_return_url.clone())
        .unwrap_or_else(|| format!("{}/", r.public_base));
    let mut link = Node::input(
        address::in_use(r, Purpose::Verification).id(),
        "continue",
        "a",
    );
    link.kind = "a".into();
    link.attributes = serde_json::Map::new();
    link.attributes.insert("href".into(), json!(href));
    link.attributes.insert(
        "title".into(),
        serde_json::to_value(text::continue_label()).unwrap_or(Value::Null),
    );
    link.attributes.insert("id".into(), json!("continue"));
    link.attributes.insert("node_type".into(), json!("a"));
    f.ui.nodes.push(link);
    f.ui.messages.push(text::verification_success());
    Ok(true)
}

pub async fn submit(
    r: &Registry,
    req: &FlowRequest,
    mut f: Flow,
    body: Submission,
) -> Result<Flow> {
    if !is_enabled(r) {
        return Err(disabled());
    }
    let now = r.clock.now();
    ensure_csrf(&f, req, body.csrf_token.as_deref())?;
    if f.is_expired(now) {
        return Err(expired(r, req, &f).await);
    }
    let m = address::in_use(r, Purpose::Verification);
    let client = req.client_address.as_deref();
    match address::step(m, &mut f, &body, 4070002, true) {
        address::Step::Check(code) => {
            if !check(r, client, &mut f, &code, false).await? {
                f.ui.messages.push(text::verification_code_invalid());
            }
        }
        address::Step::Send(to) => {
            address::send(r, client, Purpose::Verification, &mut f, &to).await?;
        }
        address::Step::Invalid => {}
        address::Step::Done => return Ok(f),
    }
    f.save(r).await?;
    Ok(f)
}

/// Start a verification flow per unverified address (after registration, a profile change, or a
/// login that requires a verified address), send its code, and
/// return the `continue_with` items pointing at them.
pub async fn start_for_addresses(
    r: &Registry,
    identity: &Identity,
    flow_type: FlowType,
    req: &FlowRequest,
) -> Result<Vec<Value>> {
    if !is_enabled(r) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for a in identity
        .verifiable_addresses
        .iter()
        .filter(|a| !a.verified && a.via == "email")
    {
        let mut f = Flow::new(r, Kind::Verification, flow_type, req.url.clone(), None);
        f.guard(req.next_csrf.clone().or_else(|| req.csrf_cookie.clone()));
        // The identity is stored already: a send over its rate limit is skipped, not failed.
        let client = req.client_address.as_deref();
        match address::send(r, client, Purpose::Verification, &mut f, &a.value).await {
            Err(Error::Api(e)) if e.id == Some(crate::error::id::RATE_LIMITED) => {
                tracing::info!("verification code not sent: over the rate limit");
                continue;
            }
            other => other?,
        }
        f.save(r).await?;
        let mut item = json!({"action": "show_verification_ui", "flow": {"id": f.id, "verifiable_address": a.value}});
        if flow_type == FlowType::Browser {
            item["flow"]["url"] = json!(super::flow::ui_redirect(r, Kind::Verification, f.id));
        }
        out.push(item);
    }
    Ok(out)
}
