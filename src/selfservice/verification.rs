//! The verification flow (`code` by default, or `link`): send a one-time code or link to a
//! verifiable address, check it, mark the address verified. Unknown addresses get the same answer as
//! known ones (and an email only where `notify_unknown_recipients` says so).

use super::codes::{self, Checked};
use super::csrf::ensure_csrf;
use super::flow::{Flow, FlowState, FlowType, Kind};
use super::request::FlowRequest;
use super::return_to::checked_return_to;
use super::strategy::code::{self, Purpose};
use super::text;
use super::ui::{Message, Node};
use crate::error::{Error, Result};
use crate::identity::manager::normalize_address;
use crate::identity::Identity;
use crate::registry::Registry;
use serde_json::{json, Value};

#[derive(Debug, Default)]
pub struct Submission {
    pub method: Option<String>,
    pub email: Option<String>,
    pub code: Option<String>,
    pub csrf_token: Option<String>,
}

pub fn is_enabled(r: &Registry) -> bool {
    r.config
        .selfservice
        .flows
        .verification
        .enabled
        .unwrap_or(false)
}

/// `code` (default) or `link`.
pub fn method(r: &Registry) -> &'static str {
    match r
        .config
        .selfservice
        .flows
        .verification
        .use_method
        .as_deref()
    {
        Some("link") => "link",
        _ => "code",
    }
}

fn disabled() -> Error {
    Error::bad_request("Verification is not allowed because it was disabled.")
}

fn choose_nodes(f: &mut Flow, m: &str) {
    f.ui.nodes.retain(|n| n.name() == "csrf_token");
    f.ui.nodes.push(
        Node::input(m, "email", "email")
            .required()
            .label(text::email_label()),
    );
    f.ui.nodes.push(
        Node::input(m, "method", "submit")
            .value(m)
            .label(text::submit_label()),
    );
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
    let mut f = Flow::new(r, Kind::Verification, flow_type, req.url.clone(), return_to);
    if flow_type == FlowType::Browser {
        f.ui.nodes
            .push(Node::input("default", "csrf_token", "hidden").required());
        f.csrf_secret = req.csrf_cookie.clone();
    }
    choose_nodes(&mut f, method(r));
    f.save(r).await?;
    Ok(f)
}

pub async fn expired(r: &Registry, req: &FlowRequest, old: &Flow) -> Error {
    let new = init(r, req, old.flow_type, old.return_to.as_deref()).await;
    super::flow::replace_expired(r, old, new, text::verification_expired).await
}

/// Send a code (or link) for `address` within flow `f`, whether or not the address is known.
async fn send(r: &Registry, client: Option<&str>, f: &mut Flow, address: &str) -> Result<()> {
    let m = method(r);
    code::send(r, client, Purpose::Verification, m, f.id, address).await?;
    f.state = FlowState::SentEmail;
    f.active = Some(m.into());
    f.ui.nodes.retain(|n| n.name() == "csrf_token");
    if m == "link" {
        f.ui.nodes.push(
            Node::input(m, "email", "email")
                .required()
                .value(address)
                .label(text::email_label()),
        );
        f.ui.nodes.push(
            Node::input(m, "method", "submit")
                .value(m)
                .label(text::resend_label()),
        );
        f.ui.messages.push(text::verification_link_sent());
    } else {
        f.ui.nodes.push(
            Node::input(m, "code", "text")
                .required()
                .attr("pattern", "[0-9]+")
                .attr("maxlength", 6)
                .label(text::verification_code_label()),
        );
        f.ui.nodes
            .push(Node::input(m, "email", "hidden").value(address));
        f.ui.nodes.push(
            Node::input(m, "method", "submit")
                .value(m)
                .label(Message::info(1070006, "Verify code")),
        );
        f.ui.nodes.push(
            Node::input(m, "email", "submit")
                .value(address)
                .label(text::resend_label()),
        );
        f.ui.messages.push(text::verification_code_sent());
    }
    Ok(())
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
    let (kind, digest) = if is_link_token {
        ("verification_link", codes::link_digest(secret))
    } else {
        ("verification_code", codes::code_digest(r, f.id, secret))
    };
    let Checked::Valid(code) =
        codes::consume(r, client, f.id, kind, &digest, is_link_token).await?
    else {
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
    let mut link = Node::input(method(r), "continue", "a");
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
    f.ui.reset_messages();
    if f.state == FlowState::PassedChallenge {
        f.ui.messages.push(Message::error(
            4070002,
            "The request was already completed successfully and can not be retried.",
        ));
        return Ok(f);
    }
    let m = method(r);
    if body.method.as_deref().is_some_and(|x| x != m) {
        f.ui.messages.push(Message::error(4010006, "Could not find a strategy to verify your account with. Did you fill out the form correctly?"));
        f.save(r).await?;
        return Ok(f);
    }
    let code = body.code.clone().filter(|c| !c.trim().is_empty());
    let email = body.email.clone().filter(|e| !e.trim().is_empty());
    match (code, email) {
        (Some(code), _) if f.state == FlowState::SentEmail && m == "code" => {
            if !check(r, req.client_address.as_deref(), &mut f, &code, false).await? {
                f.ui.messages.push(text::verification_code_invalid());
            }
        }
        (_, Some(email)) => {
            let address = normalize_address("email", &email);
            if !address.contains('@') {
                f.ui.add_node_message(
                    "email",
                    Message::error(4000040, "Enter a valid email address"),
                );
            } else {
                send(r, req.client_address.as_deref(), &mut f, &address).await?;
            }
        }
        _ => f.ui.add_node_message("email", text::missing("email")),
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
        if flow_type == FlowType::Browser {
            f.ui.nodes
                .push(Node::input("default", "csrf_token", "hidden").required());
            f.csrf_secret = req.next_csrf.clone().or_else(|| req.csrf_cookie.clone());
        }
        // The identity is stored already: a send over its rate limit is skipped, not failed.
        match send(r, req.client_address.as_deref(), &mut f, &a.value).await {
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
