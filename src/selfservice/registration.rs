//! The registration flow with the password method: init (browser and native), get, submit, and the
//! `session` after-hook that logs the new identity in.

use super::csrf::ensure_csrf;
use super::flow::{self, Flow, FlowType, Kind};
use super::request::FlowRequest;
use super::return_to::checked_return_to;
use super::strategy;
use super::text;
use super::ui::trait_nodes;
use crate::error::{id, ApiError, Error, Result};
use crate::identity::Identity;
use crate::registry::Registry;
use crate::session::manager::Issued;
use crate::session::AuthenticationMethod;
use serde_json::{json, Value};

pub use super::strategy::Submission;

pub enum Outcome {
    Invalid(Box<Flow>),
    Success {
        flow: Box<Flow>,
        identity: Box<Identity>,
        /// Present when the `session` after-hook is configured.
        issued: Option<Box<Issued>>,
        redirect_to: String,
    },
}

pub fn is_enabled(r: &Registry) -> bool {
    r.config
        .selfservice
        .flows
        .registration
        .enabled
        .unwrap_or(true)
}

fn disabled() -> Error {
    ApiError::new(400)
        .with_id(id::FLOW_DISABLED)
        .with_reason("Registration is not allowed because it was disabled.")
        .with_message("registration flow disabled")
        .into()
}

/// 400 `session_already_available` with a flow-specific reason.
pub fn already_registered_reason(reason: &str) -> Error {
    ApiError::new(400)
        .with_id(id::SESSION_ALREADY_AVAILABLE)
        .with_reason(reason)
        .with_message(reason)
        .into()
}

pub fn already_registered() -> Error {
    ApiError::new(400)
        .with_id(id::SESSION_ALREADY_AVAILABLE)
        .with_reason("A valid session was detected and thus registration is not possible.")
        .with_message("A valid session was detected and thus registration is not possible.")
        .into()
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
        return Err(already_registered());
    }
    let mut f = Flow::new(r, Kind::Registration, flow_type, req.url.clone(), return_to);
    f.guard(req.csrf_cookie.clone());
    strategy::draw(r, req, &mut f, None).await?;
    f.save(r).await?;
    Ok(f)
}

pub async fn expired(r: &Registry, req: &FlowRequest, old: &Flow) -> Error {
    let new = init(r, req, old.flow_type, old.return_to.as_deref()).await;
    flow::replace_expired(r, old, new, text::registration_expired).await
}

pub async fn submit(
    r: &Registry,
    req: &FlowRequest,
    mut f: Flow,
    body: Submission,
) -> Result<Outcome> {
    let now = r.clock.now();
    if !is_enabled(r) {
        return Err(disabled());
    }
    ensure_csrf(&f, req, body.csrf_token.as_deref())?;
    if f.is_expired(now) {
        return Err(expired(r, req, &f).await);
    }
    if req.current.is_some() {
        return Err(already_registered());
    }
    let missing = text::no_registration_strategy();
    let Some(method) = super::submission::method_for(r, req, &mut f, &body, missing).await? else {
        return Ok(Outcome::Invalid(Box::new(f)));
    };
    let Some(identity) = method.register(r, req, &mut f, &body.fields).await? else {
        f.save(r).await?;
        return Ok(Outcome::Invalid(Box::new(f)));
    };
    match r.persister.create_identity(&identity).await {
        Ok(()) => {}
        Err(Error::Conflict(_)) => {
            f.ui.messages.push(text::duplicate_identifier());
            f.save(r).await?;
            return Ok(Outcome::Invalid(Box::new(f)));
        }
        Err(e) => return Err(e),
    }
    if !f.pass_challenge(r).await? {
        f.ui.messages.push(text::already_completed());
        return Ok(Outcome::Invalid(Box::new(f)));
    }
    let issued = if super::hooks::session_after_registration(r, method.id()) {
        let amr = AuthenticationMethod::first_factor(method.id(), now);
        let device = req.device.clone();
        Some(Box::new(
            r.sessions().issue(&identity, vec![amr], device).await?,
        ))
    } else {
        None
    };
    f.ui.clear_secrets();
    f.save(r).await?;
    let redirect_to = after_registration_url(r, &f);
    Ok(Outcome::Success {
        flow: Box::new(f),
        identity: Box::new(identity),
        issued,
        redirect_to,
    })
}

pub fn after_registration_url(r: &Registry, f: &Flow) -> String {
    super::flow::after_url(r, f, &r.config.selfservice.flows.registration.after)
}

/// Form fields arrive as strings; turn numeric and boolean traits into JSON numbers and booleans as
/// the schema types them.
pub fn coerce_form_traits(schema: &Value, traits: &mut Value) {
    for node in trait_nodes(schema, "default") {
        let pointer: String = node
            .name()
            .split('.')
            .skip(1)
            .map(|seg| format!("/{seg}"))
            .collect();
        let Some(cur) = traits.pointer_mut(&pointer) else {
            continue;
        };
        let Some(text) = cur.as_str().map(str::to_string) else {
            continue;
        };
        match node.attributes.get("type").and_then(Value::as_str) {
            Some("number") => {
                if let Ok(n) = text.parse::<i64>() {
                    *cur = json!(n);
                } else if let Ok(f) = text.parse::<f64>() {
                    *cur = json!(f);
                }
            }
            Some("checkbox") => *cur = json!(matches!(text.as_str(), "true" | "on" | "1")),
            _ => {}
        }
    }
}
