//! The settings flow: the `profile` method (traits) and the `password` method, both behind a
//! privileged (recent) session, and the `revoke_active_sessions` after-hook.

use super::csrf::ensure_csrf;
use super::flow::{Flow, FlowState, FlowType, Kind};
use super::password_policy;
use super::request::FlowRequest;
use super::return_to::checked_return_to;
use super::text;
use super::ui::{trait_nodes, Message, Node};
use crate::error::{id, ApiError, Error, Result};
use crate::identity::{manager as identity_manager, Credential, Identity};
use crate::registry::Registry;
use crate::session::Session;
use serde_json::{json, Value};

#[derive(Debug, Default)]
pub struct Submission {
    pub method: Option<String>,
    pub password: Option<String>,
    pub traits: Option<Value>,
    pub csrf_token: Option<String>,
}

pub fn no_session() -> Error {
    Error::session_inactive("No active session was found in this request.")
}

/// Build the nodes of a settings flow for an identity (traits filled in).
fn draw(r: &Registry, f: &mut Flow, identity: &Identity) {
    f.ui.nodes.retain(|n| n.name() == "csrf_token");
    if r.config.selfservice.methods.profile.enabled {
        draw_profile(r, f, identity);
    }
    if super::login::password_enabled(r) {
        f.ui.nodes.push(
            Node::input("password", "password", "password")
                .required()
                .attr("autocomplete", "new-password")
                .label(text::password_label()),
        );
        f.ui.nodes.push(
            Node::input("password", "method", "submit")
                .value("password")
                .label(text::save_label()),
        );
    }
}

/// The profile method's nodes: the traits, filled in, and its submit button.
fn draw_profile(r: &Registry, f: &mut Flow, identity: &Identity) {
    if let Some(schema) = r.schemas.get(&identity.schema_id) {
        let mut nodes = trait_nodes(&schema.raw, "profile");
        for n in &mut nodes {
            let pointer: String = n
                .name()
                .split('.')
                .skip(1)
                .map(|s| format!("/{s}"))
                .collect();
            if let Some(v) = identity.traits.pointer(&pointer) {
                n.attributes.insert("value".into(), v.clone());
            }
        }
        f.ui.nodes.extend(nodes);
    }
    f.ui.nodes.push(
        Node::input("profile", "method", "submit")
            .value("profile")
            .label(text::save_label()),
    );
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
    if flow_type == FlowType::Browser {
        f.ui.nodes
            .push(Node::input("default", "csrf_token", "hidden").required());
        f.csrf_secret = req.next_csrf.clone().or_else(|| req.csrf_cookie.clone());
    }
    draw(r, &mut f, identity);
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
        let mut new = create(r, req, f.flow_type, &identity, f.return_to.clone()).await?;
        new.ui.messages.push(text::settings_expired(
            (now - f.expires_at).num_milliseconds() as f64 / 60000.0,
        ));
        new.save(r).await?;
        return Err(super::flow::expired_error(&f, new.id, now));
    }
    f.ui.reset_messages();
    f.state = FlowState::ShowForm;
    let method = body.method.as_deref().filter(|m| match *m {
        "profile" => r.config.selfservice.methods.profile.enabled,
        "password" => super::login::password_enabled(r),
        _ => false,
    });
    match method {
        Some("profile") => {
            let traits = body.traits.clone().unwrap_or_else(|| json!({}));
            let mut updated = identity.clone();
            updated.traits = traits.clone();
            updated.updated_at = now;
            let schema = r.schemas.get(&identity.schema_id).cloned();
            if let Some(schema) = &schema {
                if let Err(errors) = schema.validate_traits(&traits) {
                    draw(r, &mut f, &identity);
                    for (k, v) in traits.as_object().into_iter().flatten() {
                        f.ui.set_value(&format!("traits.{k}"), v.clone());
                    }
                    for e in errors {
                        f.ui.add_node_message(
                            &e.node_name(),
                            Message::error(e.message_id, e.text.clone())
                                .with_context(e.context.clone()),
                        );
                    }
                    f.active = Some("profile".into());
                    f.save(r).await?;
                    return Ok(Outcome::Flow(Box::new(f), Box::new(identity)));
                }
            }
            identity_manager::prepare(&r.schemas, &mut updated, now)?;
            // Changing what identifies or reaches the identity needs a recent login.
            let protected_changed = updated.credentials.get("password").map(|c| &c.identifiers)
                != identity.credentials.get("password").map(|c| &c.identifiers)
                || updated
                    .verifiable_addresses
                    .iter()
                    .map(|a| &a.value)
                    .ne(identity.verifiable_addresses.iter().map(|a| &a.value))
                || updated
                    .recovery_addresses
                    .iter()
                    .map(|a| &a.value)
                    .ne(identity.recovery_addresses.iter().map(|a| &a.value));
            if protected_changed && !is_privileged(r, session) {
                return Err(refresh_required(r, &f));
            }
            match r.persister.update_identity(&updated).await {
                Ok(_) => {}
                Err(Error::Conflict(_)) => {
                    draw(r, &mut f, &identity);
                    f.ui.messages.push(text::duplicate_identifier());
                    f.save(r).await?;
                    return Ok(Outcome::Flow(Box::new(f), Box::new(identity)));
                }
                Err(e) => return Err(e),
            }
            identity = updated;
            f.active = Some("profile".into());
            if super::verification::is_enabled(r) {
                let new_addresses = Identity {
                    verifiable_addresses: identity
                        .verifiable_addresses
                        .iter()
                        .filter(|a| a.status == "pending")
                        .cloned()
                        .collect(),
                    ..identity.clone()
                };
                f.continue_with =
                    super::verification::start_for_addresses(r, &new_addresses, f.flow_type, req)
                        .await?;
            }
        }
        Some("password") => {
            if !is_privileged(r, session) {
                return Err(refresh_required(r, &f));
            }
            let password = body.password.clone().unwrap_or_default();
            draw(r, &mut f, &identity);
            f.active = Some("password".into());
            if password.is_empty() {
                f.ui.add_node_message("password", text::missing("password"));
                f.save(r).await?;
                return Ok(Outcome::Flow(Box::new(f), Box::new(identity)));
            }
            let schema = r.schemas.get(&identity.schema_id).cloned();
            let identifiers: Vec<String> = schema
                .map(|s| {
                    s.trait_values(&identity.traits)
                        .into_iter()
                        .filter(|v| v.ext.password_identifier)
                        .map(|v| v.value)
                        .collect()
                })
                .unwrap_or_default();
            let mut problem = password_policy::check_blocking(
                &r.config.selfservice.methods.password.config,
                r.hasher.max_password_bytes(),
                &password,
                &identifiers,
            )
            .await;
            if problem.is_none() {
                if let Some(old) = identity.password_hash() {
                    if r.hasher
                        .verify(password.clone(), old.to_string())
                        .await
                        .unwrap_or(false)
                    {
                        problem = Some(text::same_password());
                    }
                }
            }
            if let Some(m) = problem {
                f.ui.add_node_message("password", m);
                f.save(r).await?;
                return Ok(Outcome::Flow(Box::new(f), Box::new(identity)));
            }
            let hash = r
                .hasher
                .hash(password)
                .await
                .map_err(|e| Error::internal(format!("hashing failed: {e}")))?;
            let created_at = identity
                .credentials
                .get("password")
                .map(|c| c.created_at)
                .unwrap_or(now);
            identity.credentials.insert(
                "password".into(),
                Credential {
                    kind: "password".into(),
                    identifiers: Vec::new(),
                    config: json!({ "hashed_password": hash }),
                    version: 0,
                    created_at,
                    updated_at: now,
                },
            );
            identity.updated_at = now;
            identity_manager::prepare(&r.schemas, &mut identity, now)?;
            r.persister.update_identity(&identity).await?;
            if revoke_hook(r, "password") {
                r.persister
                    .revoke_other_sessions(identity.id, session.id, now)
                    .await?;
            }
        }
        _ => {
            draw(r, &mut f, &identity);
            f.ui.messages.push(Message::error(4010004, "Could not find a strategy to update your settings. Did you fill out the form correctly?"));
            f.save(r).await?;
            return Ok(Outcome::Flow(Box::new(f), Box::new(identity)));
        }
    }
    draw(r, &mut f, &identity);
    f.state = FlowState::Success;
    f.ui.messages.push(text::settings_saved());
    f.ui.clear_secrets();
    f.save(r).await?;
    Ok(Outcome::Flow(Box::new(f), Box::new(identity)))
}

/// Whether `revoke_active_sessions` runs after a settings change by `method`.
fn revoke_hook(r: &Registry, method: &str) -> bool {
    let after = &r.config.selfservice.flows.settings.after;
    let has = |hooks: Option<&Value>| {
        hooks
            .and_then(Value::as_array)
            .map(|hs| {
                hs.iter().any(|h| {
                    h.get("hook").and_then(Value::as_str) == Some("revoke_active_sessions")
                })
            })
            .unwrap_or(false)
    };
    has(after.pointer(&format!("/{method}/hooks"))) || has(after.get("hooks"))
}
