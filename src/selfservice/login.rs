//! The login flow with the password method: init (browser and native), get, submit.

use super::csrf::ensure_csrf;
use super::flow::{self, Flow, FlowState, FlowType, Kind};
use super::request::{FlowRequest, COOKIE_REASON, ORIGIN_REASON};
use super::return_to::checked_return_to;
use super::text;
use super::ui::Node;
use crate::error::{id, ApiError, Error, Result};
use crate::identity::{normalize_identifier, Identity};
use crate::registry::Registry;
use crate::session::manager::{self, Issued};
use crate::session::{AuthenticationMethod, Session};
use serde_json::Value;

/// `selfservice.methods.password.enabled` (default true): whether the password method takes part
/// in login, registration and settings.
pub fn password_enabled(r: &Registry) -> bool {
    r.config.selfservice.methods.password.enabled
}

/// Query parameters of the init endpoints.
#[derive(Debug, Default)]
pub struct InitQuery {
    pub refresh: bool,
    pub aal: Option<String>,
    pub return_to: Option<String>,
}

/// A password login submission (JSON or form).
#[derive(Debug, Default)]
pub struct Submission {
    pub method: Option<String>,
    pub identifier: Option<String>,
    pub password: Option<String>,
    pub csrf_token: Option<String>,
    pub transient_payload: Option<Value>,
}

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

pub async fn init(
    r: &Registry,
    req: &FlowRequest,
    flow_type: FlowType,
    q: InitQuery,
) -> Result<Flow> {
    let aal = match q.aal.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("aal1") => "aal1",
        Some("aal2") => "aal2",
        Some(other) => {
            return Err(Error::bad_request(format!(
                "Unable to parse AuthenticationMethod Assurance Level (AAL): expected one of [aal1, aal2] but got {other}"
            )))
        }
    };
    let return_to = checked_return_to(r, q.return_to.as_deref())?;
    if aal == "aal2" && req.current.is_none() {
        return Err(ApiError::new(401)
            .with_id(id::SESSION_AAL1_REQUIRED)
            .with_reason(
                "You can not requested a higher AAL (AAL2/AAL3) without an active session.",
            )
            .with_message("aal2 and aal3 can only be requested if a session exists already")
            .into());
    }
    if let Some((session, _)) = &req.current {
        if !q.refresh && (aal == "aal1" || session.aal == "aal2") {
            return Err(already_logged_in());
        }
    }
    let mut f = Flow::new(r, Kind::Login, flow_type, req.url.clone(), return_to);
    f.requested_aal = aal.into();
    f.refresh = q.refresh && req.current.is_some();
    if flow_type == FlowType::Browser {
        f.ui.nodes
            .push(Node::input("default", "csrf_token", "hidden").required());
        f.csrf_secret = Some(
            req.csrf_cookie
                .clone()
                .filter(|_| req.csrf_secret.is_some())
                .unwrap_or_default(),
        );
    }
    if password_enabled(r) {
        password_nodes(r, req, &mut f).await?;
    }
    f.save(r).await?;
    Ok(f)
}

/// The password method's login nodes: the identifier (hidden and filled in on a refresh), the
/// password and the submit button.
async fn password_nodes(r: &Registry, req: &FlowRequest, f: &mut Flow) -> Result<()> {
    let refresh_identifier = if f.refresh {
        match &req.current {
            Some((s, _)) => refresh_identifier(r, s).await?,
            None => None,
        }
    } else {
        None
    };
    match refresh_identifier {
        Some(identifier) => {
            f.ui.nodes
                .push(Node::input("default", "identifier", "hidden").value(identifier));
            f.ui.messages.push(text::refresh_confirm());
        }
        None => f.ui.nodes.push(
            Node::input("default", "identifier", "text")
                .value("")
                .required()
                .label(text::id_label()),
        ),
    }
    f.ui.nodes.push(
        Node::input("password", "password", "password")
            .required()
            .attr("autocomplete", "current-password")
            .label(text::password_label()),
    );
    let submit_label = if f.refresh {
        text::sign_in()
    } else {
        text::sign_in_with_password()
    };
    f.ui.nodes.push(
        Node::input("password", "method", "submit")
            .value("password")
            .label(submit_label),
    );
    Ok(())
}

async fn refresh_identifier(r: &Registry, s: &Session) -> Result<Option<String>> {
    let identity = r.persister.get_identity(s.identity_id, true).await?;
    Ok(identity.and_then(|i| {
        i.credentials
            .get("password")
            .and_then(|c| c.identifiers.first().cloned())
    }))
}

/// A native flow must not be driven by a browser (Origin header or cookies): folded into the flow.
fn refuse_browser_signal(f: &mut Flow, req: &FlowRequest) -> bool {
    if f.flow_type != FlowType::Api {
        return false;
    }
    match req.browser_signal {
        Some(reason) => {
            let reason = if reason == "origin" {
                ORIGIN_REASON
            } else {
                COOKIE_REASON
            };
            f.ui.messages.push(text::generic_error(reason));
            true
        }
        None => false,
    }
}

/// Replace an expired flow by a new one and answer 410 pointing at it.
pub async fn expired(r: &Registry, req: &FlowRequest, old: &Flow) -> Error {
    let now = r.clock.now();
    let q = InitQuery {
        refresh: old.refresh,
        aal: Some(old.requested_aal.clone()),
        return_to: old.return_to.clone(),
    };
    match init(r, req, old.flow_type, q).await {
        Ok(mut new) => {
            let minutes = (now - old.expires_at).num_milliseconds() as f64 / 60000.0;
            new.ui.messages.push(text::login_expired(minutes));
            if let Err(e) = new.save(r).await {
                return e;
            }
            flow::expired_error(old, new.id, now)
        }
        Err(e) => e,
    }
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
    f.ui.reset_messages();
    if refuse_browser_signal(&mut f, req) {
        return Ok(Outcome::Invalid(Box::new(f)));
    }
    if f.state == FlowState::PassedChallenge {
        f.ui.messages.push(text::already_completed());
        return Ok(Outcome::Invalid(Box::new(f)));
    }
    if body.method.as_deref() != Some("password") || !password_enabled(r) {
        f.ui.messages.push(text::no_login_strategy());
        f.save(r).await?;
        return Ok(Outcome::Invalid(Box::new(f)));
    }
    f.active = Some("password".into());
    f.transient_payload = body.transient_payload.clone();
    if let Some((s, _)) = &req.current {
        if !f.refresh && (f.requested_aal == "aal1" || s.aal == "aal2") {
            f.ui.messages.push(text::generic_error(
                "A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?",
            ));
            f.save(r).await?;
            return Ok(Outcome::Invalid(Box::new(f)));
        }
    }
    let identifier = body.identifier.clone().unwrap_or_default();
    let password = body.password.clone().unwrap_or_default();
    f.ui.set_value("identifier", identifier.clone());
    let mut missing = false;
    if identifier.trim().is_empty() {
        f.ui.add_node_message("identifier", text::missing("identifier"));
        missing = true;
    }
    if password.is_empty() {
        f.ui.add_node_message("password", text::missing("password"));
        missing = true;
    }
    if missing {
        f.save(r).await?;
        return Ok(Outcome::Invalid(Box::new(f)));
    }
    let client = req.client_address.as_deref();
    super::rate_limit::login_attempt(r, client, &identifier).await?;
    let identity = if password.len() > super::password_policy::MAX_PASSWORD_BYTES {
        // No stored password is this long: refused before any hashing work.
        None
    } else {
        verify(r, &identifier, &password).await?
    };
    let Some(identity) = identity else {
        f.ui.messages.push(text::invalid_credentials());
        f.save(r).await?;
        return Ok(Outcome::Invalid(Box::new(f)));
    };
    super::rate_limit::login_succeeded(r, client, &identifier).await?;
    if !identity.is_active() {
        return Err(ApiError::new(401)
            .with_reason("This account was disabled.")
            .with_message("identity is disabled")
            .into());
    }
    if require_verified_address(r) {
        let id_lower = normalize_identifier("password", &identifier);
        let verified = identity
            .verifiable_addresses
            .iter()
            .any(|a| a.verified && a.value == id_lower);
        if !verified {
            let pending = Identity {
                verifiable_addresses: identity
                    .verifiable_addresses
                    .iter()
                    .filter(|a| a.value == id_lower)
                    .cloned()
                    .collect(),
                ..identity.clone()
            };
            let continue_with =
                super::verification::start_for_addresses(r, &pending, f.flow_type, req).await?;
            return Err(ApiError::new(403)
                .with_id(id::SESSION_VERIFIED_ADDRESS_REQUIRED)
                .with_reason("Your account's email or phone address are not verified yet. Please check your email or phone inbox or re-request verification.")
                .with_message("The requested action was forbidden")
                .with_detail("continue_with", Value::Array(continue_with))
                .into());
        }
    }
    if let Some((s, _)) = &req.current {
        if f.refresh && s.identity_id != identity.id {
            f.ui.messages.push(text::invalid_credentials());
            f.save(r).await?;
            return Ok(Outcome::Invalid(Box::new(f)));
        }
    }
    // One successful submission per flow, even when two race.
    if !r
        .persister
        .transition_flow(
            f.id,
            f.state.as_str(),
            FlowState::PassedChallenge.as_str(),
            now,
        )
        .await?
    {
        f.ui.messages.push(text::already_completed());
        return Ok(Outcome::Invalid(Box::new(f)));
    }
    f.state = FlowState::PassedChallenge;
    let method = AuthenticationMethod {
        method: "password".into(),
        aal: "aal1".into(),
        completed_at: now,
        provider: None,
        organization: None,
    };
    let device = manager::DeviceInfo {
        ip: req.device.ip.clone(),
        user_agent: req.device.user_agent.clone(),
        location: req.device.location.clone(),
    };
    // A refresh re-authenticates the caller's session in place, as Kratos does: same id, same
    // token, so a native app keeps its token.
    let current = req.current.clone().filter(|_| f.refresh);
    let issued = match current {
        Some(current) => manager::reauthenticate(
            &r.persister,
            &r.config,
            current,
            &identity,
            method,
            device,
            now,
        )
        .await?
        .ok_or_else(|| Error::session_inactive("No active session was found in this request."))?,
        None => {
            manager::issue(
                &r.persister,
                &r.config,
                &identity,
                vec![method],
                device,
                now,
            )
            .await?
        }
    };
    f.ui.clear_secrets();
    f.save(r).await?;
    let redirect_to = after_login_url(r, &f);
    Ok(Outcome::Success {
        flow: Box::new(f),
        issued: Box::new(issued),
        redirect_to,
    })
}

/// Verify an identifier and password. Unknown identifiers cost one dummy verification, so timing
/// does not reveal which identifiers exist. A successful login with an outdated hash re-hashes.
pub async fn verify(r: &Registry, identifier: &str, password: &str) -> Result<Option<Identity>> {
    let normalized = normalize_identifier("password", identifier);
    let identity = r
        .persister
        .find_identity_by_identifier("password", &normalized)
        .await?;
    let hash = identity
        .as_ref()
        .and_then(|i| i.password_hash().map(str::to_string));
    let (Some(mut identity), Some(hash)) = (identity, hash) else {
        r.hasher.verify_dummy(password.to_string()).await;
        return Ok(None);
    };
    let ok = r
        .hasher
        .verify(password.to_string(), hash.clone())
        .await
        .unwrap_or(false);
    if !ok {
        return Ok(None);
    }
    if r.hasher.needs_rehash(&hash) {
        if let Ok(new_hash) = r.hasher.hash(password.to_string()).await {
            // Only the password credential changes, and only if it is still the one verified.
            let now = r.clock.now();
            let stored = r
                .persister
                .modify_identity(identity.id, |i| match i.credentials.get_mut("password") {
                    Some(c)
                        if c.config.get("hashed_password").and_then(Value::as_str)
                            == Some(hash.as_str()) =>
                    {
                        c.config = serde_json::json!({ "hashed_password": new_hash });
                        c.updated_at = now;
                        true
                    }
                    _ => false,
                })
                .await;
            match stored {
                Ok(Some(fresh)) => identity = fresh,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not store the re-hashed password"),
            }
        }
    }
    Ok(Some(identity))
}

/// Where a browser goes after login: the flow's `return_to`, else the configured after-login URL.
pub fn after_login_url(r: &Registry, f: &Flow) -> String {
    if let Some(rt) = &f.return_to {
        return rt.clone();
    }
    let after = &r.config.selfservice.flows.login.after;
    after
        .pointer("/password/default_browser_return_url")
        .or_else(|| after.get("default_browser_return_url"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| r.config.selfservice.default_browser_return_url.clone())
        .unwrap_or_else(|| format!("{}/", r.public_base))
}

/// Whether the `require_verified_address` hook runs after password login.
pub fn require_verified_address(r: &Registry) -> bool {
    let after = &r.config.selfservice.flows.login.after;
    let has = |hooks: Option<&Value>| {
        hooks
            .and_then(Value::as_array)
            .map(|hs| {
                hs.iter().any(|h| {
                    h.get("hook").and_then(Value::as_str) == Some("require_verified_address")
                })
            })
            .unwrap_or(false)
    };
    has(after.pointer("/password/hooks")) || has(after.get("hooks"))
}
