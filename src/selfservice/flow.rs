//! What every self-service flow shares: the flow document (id, type, expiry, request URL,
//! `return_to`, state, UI) as stored and as sent, expiry and the CSRF binding of browser flows.

use super::ui::Container;
use crate::error::{ApiError, Error, Result};
use crate::registry::Registry;
use crate::time::rfc3339;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Login,
    Registration,
    Settings,
    Recovery,
    Verification,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Registration => "registration",
            Kind::Settings => "settings",
            Kind::Recovery => "recovery",
            Kind::Verification => "verification",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowType {
    Api,
    Browser,
}

impl FlowType {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowType::Api => "api",
            FlowType::Browser => "browser",
        }
    }
}

/// Where a flow stands (Kratos's `state`): login and registration go from `choose_method` to
/// `passed_challenge`; recovery and verification through `sent_email`; settings between
/// `show_form` and `success`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowState {
    ChooseMethod,
    SentEmail,
    PassedChallenge,
    ShowForm,
    Success,
}

impl FlowState {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowState::ChooseMethod => "choose_method",
            FlowState::SentEmail => "sent_email",
            FlowState::PassedChallenge => "passed_challenge",
            FlowState::ShowForm => "show_form",
            FlowState::Success => "success",
        }
    }
}

/// A flow as stored: the wire fields plus what only the server may know.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub id: Uuid,
    pub kind: Kind,
    pub flow_type: FlowType,
    pub expires_at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub request_url: String,
    pub return_to: Option<String>,
    pub state: FlowState,
    pub active: Option<String>,
    pub refresh: bool,
    pub requested_aal: crate::session::Aal,
    pub ui: Container,
    /// The anti-CSRF secret (cookie value) the browser flow was created with; never sent.
    pub csrf_secret: Option<String>,
    pub transient_payload: Option<Value>,
    /// The identity a settings flow belongs to (and a recovery flow recovers).
    #[serde(default)]
    pub identity_id: Option<crate::ids::IdentityId>,
    /// What the client should do next (`continue_with`), for settings and recovery. Only ever in the
    /// answer to the request that produced it, never stored: it can carry a session token.
    #[serde(skip)]
    pub continue_with: Vec<Value>,
    /// Flows an admin created for someone else's browser (recovery codes) have no anti-CSRF
    /// binding yet: the token is the credential.
    #[serde(default)]
    pub skip_csrf: bool,
    /// What a method keeps between a flow's requests and never shows (a TOTP key not yet
    /// confirmed), as Kratos's internal context.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub internal: Map<String, Value>,
}

/// Where a browser goes after a flow succeeded: the flow's `return_to`, else the flow's
/// configured `after.<method>.default_browser_return_url` (the method that completed it), else
/// its `after.default_browser_return_url`, else the global default, else the public base URL.
pub fn after_url(r: &Registry, f: &Flow, after: &Value) -> String {
    if let Some(rt) = &f.return_to {
        return rt.clone();
    }
    let method = f.active.as_deref().unwrap_or("password");
    after
        .get(method)
        .and_then(|m| m.get("default_browser_return_url"))
        .or_else(|| after.get("default_browser_return_url"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| r.config.selfservice.default_browser_return_url.clone())
        .unwrap_or_else(|| format!("{}/", r.public_base))
}

impl Flow {
    /// A browser flow's form starts with the CSRF token node, checked against `secret`; an API
    /// flow has neither.
    pub fn guard(&mut self, secret: Option<String>) {
        if self.flow_type == FlowType::Browser {
            self.ui
                .nodes
                .push(super::ui::Node::input("default", "csrf_token", "hidden").required());
            self.csrf_secret = secret;
        }
    }

    pub fn new(
        r: &Registry,
        kind: Kind,
        flow_type: FlowType,
        request_url: String,
        return_to: Option<String>,
    ) -> Flow {
        let now = r.clock.now();
        let lifespan = lifespan(r, kind);
        let id = Uuid::new_v4();
        Flow {
            id,
            kind,
            flow_type,
            expires_at: now + lifespan,
            issued_at: now,
            created_at: now,
            updated_at: now,
            request_url,
            return_to,
            state: FlowState::ChooseMethod,
            active: None,
            refresh: false,
            requested_aal: crate::session::Aal::Aal1,
            ui: Container::new(format!(
                "{}/self-service/{}?flow={id}",
                r.public_base,
                kind.as_str()
            )),
            csrf_secret: None,
            transient_payload: None,
            identity_id: None,
            continue_with: Vec::new(),
            skip_csrf: false,
            internal: Map::new(),
        }
    }

    /// Move the flow to `passed_challenge`, once: false when another submission got there first.
    pub async fn pass_challenge(&mut self, r: &Registry) -> crate::error::Result<bool> {
        let moved = r
            .persister
            .transition_flow(
                self.id,
                self.state.as_str(),
                FlowState::PassedChallenge.as_str(),
                r.clock.now(),
            )
            .await?;
        if moved {
            self.state = FlowState::PassedChallenge;
        }
        Ok(moved)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    /// The wire JSON; `csrf` is the masked token for browser flows (empty for native ones).
    pub fn to_json(&self, csrf: &str) -> Value {
        self.to_json_with(csrf, None)
    }

    /// The wire JSON with the settings flow's `identity`.
    pub fn to_json_with(&self, csrf: &str, identity: Option<&Value>) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("type".into(), json!(self.flow_type.as_str()));
        m.insert("expires_at".into(), json!(rfc3339(&self.expires_at)));
        m.insert("issued_at".into(), json!(rfc3339(&self.issued_at)));
        m.insert("request_url".into(), json!(self.request_url));
        if let Some(rt) = &self.return_to {
            m.insert("return_to".into(), json!(rt));
        }
        if let Some(a) = &self.active {
            m.insert("active".into(), json!(a));
        }
        m.insert("ui".into(), self.ui.to_json(csrf));
        m.insert("created_at".into(), json!(rfc3339(&self.created_at)));
        m.insert("updated_at".into(), json!(rfc3339(&self.updated_at)));
        if self.kind == Kind::Login {
            m.insert("refresh".into(), json!(self.refresh));
            m.insert("requested_aal".into(), json!(self.requested_aal));
        }
        if let Some(tp) = &self.transient_payload {
            m.insert("transient_payload".into(), tp.clone());
        }
        if self.kind == Kind::Settings {
            m.insert("identity".into(), identity.cloned().unwrap_or(Value::Null));
        }
        if matches!(self.kind, Kind::Settings | Kind::Recovery) && !self.continue_with.is_empty() {
            m.insert(
                "continue_with".into(),
                Value::Array(self.continue_with.clone()),
            );
        }
        m.insert("state".into(), json!(self.state));
        Value::Object(m)
    }

    /// The flow as shown after a submission whose body could not be read: earlier messages gone,
    /// the reason on top (4000001), no secret echoed.
    pub fn mark_unreadable(&mut self, reason: &str, now: DateTime<Utc>) {
        self.ui.reset_messages();
        self.ui.clear_secrets();
        self.ui
            .messages
            .push(crate::selfservice::text::generic_error(reason));
        self.updated_at = now;
    }

    pub async fn save(&self, r: &Registry) -> Result<()> {
        let body = serde_json::to_value(self).map_err(|e| Error::internal(e.to_string()))?;
        let record = crate::persistence::flow::FlowRecord {
            kind: self.kind.as_str(),
            flow_type: self.flow_type.as_str(),
            state: self.state.as_str(),
            body: &body,
            expires_at: self.expires_at,
        };
        r.persister.save_flow(self.id, record, r.clock.now()).await
    }

    /// Load a flow of the given kind; 404 when unknown or of another kind.
    pub async fn load(r: &Registry, id: Uuid, kind: Kind) -> Result<Flow> {
        let stored = r
            .persister
            .get_flow(id)
            .await?
            .ok_or_else(Error::not_found)?;
        if stored.kind != kind.as_str() {
            return Err(Error::not_found());
        }
        serde_json::from_value(stored.body)
            .map_err(|e| Error::internal(format!("corrupt flow: {e}")))
    }
}

/// `selfservice.flows.<kind>`.
pub fn flow_config(r: &Registry, kind: Kind) -> &crate::config::Flow {
    let flows = &r.config.selfservice.flows;
    match kind {
        Kind::Login => &flows.login,
        Kind::Registration => &flows.registration,
        Kind::Settings => &flows.settings,
        Kind::Recovery => &flows.recovery,
        Kind::Verification => &flows.verification,
    }
}

pub fn lifespan(r: &Registry, kind: Kind) -> Duration {
    let configured = flow_config(r, kind).lifespan;
    configured
        .map(|d| d.0)
        .unwrap_or_else(|| Duration::hours(1))
}

/// The UI URL of a flow kind (`selfservice.flows.<kind>.ui_url`).
pub fn ui_url(r: &Registry, kind: Kind) -> String {
    let configured = flow_config(r, kind).ui_url.clone();
    configured
        .unwrap_or_else(|| format!("https://www.ory.sh/kratos/docs/fallback/{}", kind.as_str()))
}

/// `<ui_url>?flow=<id>` (the UI URL may itself carry a query).
pub fn ui_redirect(r: &Registry, kind: Kind, id: Uuid) -> String {
    let base = ui_url(r, kind);
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}flow={id}")
}

/// The 410 answer for a submission to an expired flow, pointing at the replacement flow.
/// An expired flow's answer: its replacement `new` (made by the flow's init) carries `message`
/// with the minutes since expiry and is stored, and the 410 points at it.
pub async fn replace_expired(
    r: &Registry,
    old: &Flow,
    new: crate::error::Result<Flow>,
    message: fn(f64) -> super::ui::Message,
) -> Error {
    let now = r.clock.now();
    let mut new = match new {
        Ok(f) => f,
        Err(e) => return e,
    };
    let minutes = (now - old.expires_at).num_milliseconds() as f64 / 60000.0;
    new.ui.messages.push(message(minutes));
    if let Err(e) = new.save(r).await {
        return e;
    }
    expired_error(old, new.id, now)
}

pub fn expired_error(old: &Flow, new_id: Uuid, now: DateTime<Utc>) -> Error {
    let since = now - old.expires_at;
    let minutes = since.num_milliseconds() as f64 / 60000.0;
    ApiError::new(410)
        .with_id(crate::error::id::FLOW_EXPIRED)
        .with_reason(format!(
            "The self-service flow expired {minutes:.2} minutes ago, initialize a new one."
        ))
        .with_message("self-service flow expired")
        .with_extra("use_flow_id", json!(new_id))
        .with_extra("expired_at", json!(rfc3339(&old.expires_at)))
        .with_extra("since", json!(since.num_nanoseconds().unwrap_or(i64::MAX)))
        .into()
}

/// `?flow=` is missing or not a UUID.
/// 422 `browser_location_change_required`: the browser goes to `url` (a plain browser form post
/// gets a 303 there).
pub fn location_change(url: &str) -> Error {
    crate::error::ApiError::new(422)
        .with_id(crate::error::id::BROWSER_LOCATION_CHANGE_REQUIRED)
        .with_reason(format!(
            "In order to complete this flow please redirect the browser to: {url}"
        ))
        .with_message("browser location change required")
        .with_extra("redirect_browser_to", serde_json::json!(url))
        .into()
}

pub fn bad_flow_id() -> Error {
    Error::bad_request("The flow query parameter is missing or malformed.")
}
