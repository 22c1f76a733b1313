//! The `webauthn` method: security keys (and platform authenticators) added in settings and used
//! as a second factor by a login flow opened with `aal=aal2`, or, with `passwordless: true`, as a
//! first factor: registration with a key, and login by identifier then key. Browser flows only,
//! as in Kratos. The identity keeps its keys in its `webauthn` credential (identifiers: the traits
//! marked `credentials.webauthn.identifier`). The ceremonies are `ceremony.rs`'s.

use super::ceremony::{self, Rp};
use super::key_sets::{self, RemoveTexts};
use super::{field, Changed, Fields, Fut, LoggedIn, Strategy};
use crate::error::Result;
use crate::identity::webauthn_keys::{KeySet, StoredKey};
use crate::identity::{manager as identity_manager, normalize_identifier, Identity};
use crate::registry::Registry;
use crate::selfservice::flow::{self, Flow, FlowType, Kind};
use crate::selfservice::request::FlowRequest;
use crate::selfservice::settings::{is_privileged, refresh_required};
use crate::selfservice::text;
use crate::selfservice::ui::{Message, Node};
use crate::selfservice::webauthn_script;
use crate::session::{Aal, AuthenticationMethod, Session};
use serde_json::{json, Value};

pub struct Webauthn;

const ID: &str = "webauthn";

fn passwordless(r: &Registry) -> bool {
    r.config.selfservice.methods.webauthn.config.passwordless
}

impl Strategy for Webauthn {
    fn id(&self) -> &'static str {
        ID
    }

    fn enabled(&self, r: &Registry) -> bool {
        r.config.selfservice.methods.webauthn.enabled
    }

    fn takes_part(&self, kind: Kind) -> bool {
        matches!(kind, Kind::Login | Kind::Registration | Kind::Settings)
    }

    fn login_aal(&self, r: &Registry) -> Aal {
        if passwordless(r) {
            Aal::Aal1
        } else {
            Aal::Aal2
        }
    }

    fn claims(&self, fields: &Fields) -> bool {
        ["webauthn_login", "webauthn_register", "webauthn_remove"]
            .iter()
            .any(|k| field(fields, k).is_some_and(|v| !v.is_empty()))
    }

    fn nodes<'a>(
        &'a self,
        r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        identity: Option<&'a Identity>,
    ) -> Fut<'a, ()> {
        Box::pin(async move {
            if f.flow_type != FlowType::Browser {
                return Ok(());
            }
            match (f.kind, identity) {
                (Kind::Settings, Some(identity)) => settings_nodes(r, f, identity),
                (Kind::Login, Some(identity)) => second_factor_nodes(r, f, identity),
                (Kind::Login, None) => {
                    first_factor_nodes(f);
                    Ok(())
                }
                (Kind::Registration, _) if passwordless(r) => registration_nodes(r, f),
                _ => Ok(()),
            }
        })
    }

    fn login<'a>(
        &'a self,
        r: &'a Registry,
        req: &'a FlowRequest,
        f: &'a mut Flow,
        fields: &'a Fields,
    ) -> Fut<'a, Option<LoggedIn>> {
        Box::pin(login(r, req, f, fields))
    }

    fn register<'a>(
        &'a self,
        r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        fields: &'a Fields,
    ) -> Fut<'a, Option<Identity>> {
        Box::pin(register(r, f, fields))
    }

    fn update_settings<'a>(
        &'a self,
        r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        session: &'a Session,
        identity: &'a Identity,
        fields: &'a Fields,
    ) -> Fut<'a, Changed> {
        Box::pin(update_settings(r, f, session, identity, fields))
    }
}

fn keys_of(identity: &Identity) -> KeySet {
    key_sets::keys_of(identity, ID)
}

/// The keys a login at this level may use: passwordless keys sign in, the others step up.
fn usable(identity: &Identity, first_factor: bool) -> Vec<StoredKey> {
    keys_of(identity)
        .credentials
        .into_iter()
        .filter(|k| k.is_passwordless == first_factor)
        .collect()
}

fn trigger(name: &str, function: &str, options: &Value, label: Message) -> Node {
    let json = options.to_string();
    Node::input(ID, name, "button")
        .value(json.clone())
        .attr("onclick", format!("window.{function}({json})"))
        .attr("onclickTrigger", function)
        .label(label)
}

fn display_name_node() -> Node {
    Node::input(ID, "webauthn_register_displayname", "text")
        .value("")
        .label(Message::info(1050013, "Name of the security key"))
}

fn settings_nodes(r: &Registry, f: &mut Flow, identity: &Identity) -> Result<()> {
    let first_factors = key_sets::first_factors(r, identity);
    for key in keys_of(identity).credentials {
        let (name, ctx) = ceremony::remove_context(&key);
        f.ui.nodes.push(
            Node::input(ID, "webauthn_remove", "submit")
                .value(hex::encode(&key.id))
                .attr("disabled", key.is_passwordless && first_factors < 2)
                .label(
                    Message::info(1050018, format!("Remove security key \"{name}\""))
                        .with_context(ctx),
                ),
        );
    }
    let options = ceremony::creation_options(r, f, Rp::Webauthn, identity.id.0.as_bytes(), "")?;
    f.ui.nodes.push(display_name_node());
    f.ui.nodes
        .push(Node::input(ID, "webauthn_register", "hidden").value(""));
    f.ui.nodes.push(trigger(
        "webauthn_register_trigger",
        "oryWebAuthnRegistration",
        &options,
        Message::info(1050012, "Add security key"),
    ));
    webauthn_script::ensure(r, &mut f.ui.nodes);
    Ok(())
}

/// The identifier node of a login form, hidden and filled in (unless a method added one).
fn hidden_identifier(f: &mut Flow, identifier: &str, required: bool) {
    f.ui.nodes.retain(|n| n.name() != "identifier");
    let mut n = Node::input("default", "identifier", "hidden").value(identifier.to_string());
    if required {
        n = n.required();
    }
    f.ui.nodes.push(n);
}

fn login_trigger_nodes(
    r: &Registry,
    f: &mut Flow,
    keys: &[StoredKey],
    label: Message,
) -> Result<()> {
    let login = ceremony::start_login(r, Rp::Webauthn, keys)?;
    f.internal.insert(Rp::Webauthn.state_key(), login.state);
    webauthn_script::ensure(r, &mut f.ui.nodes);
    f.ui.nodes.push(trigger(
        "webauthn_login_trigger",
        "oryWebAuthnLogin",
        &login.options,
        label,
    ));
    f.ui.nodes
        .push(Node::input(ID, "webauthn_login", "hidden").value(""));
    Ok(())
}

/// The second-factor form of an aal2 login flow: the session's identity's security keys.
fn second_factor_nodes(r: &Registry, f: &mut Flow, identity: &Identity) -> Result<()> {
    let keys = usable(identity, passwordless(r) && f.requested_aal == Aal::Aal1);
    if keys.is_empty() {
        return Ok(());
    }
    let identifier = identity
        .credentials
        .get(ID)
        .and_then(|c| c.identifiers.first().cloned())
        .unwrap_or_default();
    if !f.ui.nodes.iter().any(|n| n.name() == "identifier") {
        hidden_identifier(f, &identifier, false);
    }
    login_trigger_nodes(r, f, &keys, text::sign_in_with_security_key())
}

/// The first form of a passwordless login: the identifier and a button that asks for the key.
fn first_factor_nodes(f: &mut Flow) {
    if !f.ui.nodes.iter().any(|n| n.name() == "identifier") {
        f.ui.nodes.push(
            Node::input("default", "identifier", "text")
                .value("")
                .required()
                .label(text::id_label()),
        );
    }
    if let Some(n) = f.ui.node_mut("identifier") {
        n.attributes
            .insert("autocomplete".into(), json!("username webauthn"));
    }
    f.ui.nodes.push(
        Node::input(ID, "method", "submit")
            .value(ID)
            .label(text::sign_in_with_security_key()),
    );
}

fn registration_nodes(r: &Registry, f: &mut Flow) -> Result<()> {
    super::traits::ensure_nodes(r, f);
    let options =
        ceremony::creation_options(r, f, Rp::Webauthn, uuid::Uuid::new_v4().as_bytes(), "")?;
    f.ui.nodes.push(display_name_node());
    f.ui.nodes
        .push(Node::input(ID, "webauthn_register", "hidden").value(""));
    f.ui.nodes.push(trigger(
        "webauthn_register_trigger",
        "oryWebAuthnRegistration",
        &options,
        Message::info(1040004, "Sign up with security key"),
    ));
    webauthn_script::ensure(r, &mut f.ui.nodes);
    Ok(())
}

async fn login(
    r: &Registry,
    req: &FlowRequest,
    f: &mut Flow,
    fields: &Fields,
) -> Result<Option<LoggedIn>> {
    if f.flow_type != FlowType::Browser {
        f.ui.messages.push(text::no_login_strategy());
        return Ok(None);
    }
    let answer = field(fields, "webauthn_login").unwrap_or_default();
    let now = r.clock.now();
    if f.requested_aal == Aal::Aal2 && !passwordless(r) {
        let Some((session, _)) = &req.current else {
            return Err(crate::selfservice::login::aal1_required());
        };
        let identity = r.persister.get_identity(session.identity_id, true).await?;
        let Some(identity) = identity.filter(|i| i.credentials.contains_key(ID)) else {
            f.ui.messages.push(Message::error(
                4000013,
                "You have no WebAuthn device set up.",
            ));
            return Ok(None);
        };
        let client = req.client_address.as_deref();
        crate::selfservice::rate_limit::second_factor_attempt(r, client, identity.id).await?;
        if !check(r, f, &answer, &usable(&identity, false))? {
            return Ok(None);
        }
        crate::selfservice::rate_limit::second_factor_succeeded(r, client, identity.id).await?;
        f.internal.remove(&Rp::Webauthn.state_key());
        return Ok(Some(LoggedIn {
            identity,
            method: AuthenticationMethod::second_factor(ID, now),
            identifier: String::new(),
        }));
    }
    // Passwordless: the identifier names the account, then its key signs.
    let identifier = field(fields, "identifier").unwrap_or_default();
    if identifier.trim().is_empty() {
        f.ui.add_node_message("identifier", text::missing("identifier"));
        return Ok(None);
    }
    let found = r
        .persister
        .find_identity_by_identifier(ID, &normalize_identifier(ID, &identifier))
        .await?;
    let keys = found.as_ref().map(|i| usable(i, true)).unwrap_or_default();
    let Some(identity) = found.filter(|_| !keys.is_empty()) else {
        r.hasher.verify_dummy(identifier.clone()).await;
        f.ui.messages.push(ceremony::no_such_account());
        return Ok(None);
    };
    if answer.is_empty() {
        // Step one: the form asks for this account's key next.
        f.ui.nodes.retain(|n| n.name() == "csrf_token");
        hidden_identifier(f, &identifier, true);
        login_trigger_nodes(r, f, &keys, Message::info(1010013, "Continue"))?;
        f.ui.messages.push(Message::info(
            1010012,
            "Prepare your WebAuthn device (e.g. security key, biometrics scanner, ...) and press continue.",
        ));
        f.save(r).await?;
        return Err(flow::location_change(&flow::ui_redirect(
            r,
            Kind::Login,
            f.id,
        )));
    }
    if !check(r, f, &answer, &keys)? {
        return Ok(None);
    }
    f.internal.remove(&Rp::Webauthn.state_key());
    Ok(Some(LoggedIn {
        identity,
        method: AuthenticationMethod::first_factor(ID, now),
        identifier,
    }))
}

/// Verify a login's answer against `keys`; the reason on the flow when it does not verify.
fn check(r: &Registry, f: &mut Flow, answer: &str, keys: &[StoredKey]) -> Result<bool> {
    let Some(rsp) = ceremony::parse_assertion(answer) else {
        f.ui.messages.push(ceremony::unparsable_assertion());
        return Ok(false);
    };
    if !ceremony::verify_login(r, Rp::Webauthn, f, &rsp, keys)? {
        f.ui.messages.push(ceremony::invalid_assertion());
        return Ok(false);
    }
    Ok(true)
}

async fn register(r: &Registry, f: &mut Flow, fields: &Fields) -> Result<Option<Identity>> {
    let answer = field(fields, "webauthn_register").unwrap_or_default();
    if f.flow_type != FlowType::Browser || answer.is_empty() || !passwordless(r) {
        f.ui.messages.push(text::no_registration_strategy());
        return Ok(None);
    }
    let name = field(fields, "webauthn_register_displayname").unwrap_or_default();
    f.ui.set_value("webauthn_register_displayname", name.clone());
    let Some(traits) = super::traits::from_submission(r, f, fields) else {
        return Ok(None);
    };
    let now = r.clock.now();
    let key = match ceremony::finish_registration(r, Rp::Webauthn, f, &answer, name, true, now)? {
        Ok(key) => key,
        Err(m) => {
            f.ui.messages.push(m);
            return Ok(None);
        }
    };
    let handle = ceremony::options_user_handle(f, Rp::Webauthn);
    let schema = r.schemas.default_schema().clone();
    let mut identity = Identity::new(&schema.id, traits, now);
    let set = KeySet {
        credentials: vec![key],
        user_handle: handle,
    };
    identity
        .credentials
        .insert(ID.into(), key_sets::credential(ID, &set, Vec::new(), now));
    identity_manager::prepare(&r.schemas, &mut identity, now)?;
    if identity.credentials[ID].identifiers.is_empty() {
        f.ui.messages.push(ceremony::no_identifiers());
        return Ok(None);
    }
    // The state stays: should storing the identity fail (an address in use), the form is
    // answered again with the same challenge; the flow passes only once anyway.
    Ok(Some(identity))
}

/// The name a new security key is given in settings (required, not empty), or None with the
/// reason on its node.
fn display_name(f: &mut Flow, fields: &Fields) -> Option<String> {
    const NODE: &str = "webauthn_register_displayname";
    match field(fields, NODE) {
        None => {
            f.ui.add_node_message(NODE, text::missing(NODE));
            None
        }
        Some(name) if name.is_empty() => {
            f.ui.add_node_message(
                NODE,
                Message::error(4000003, "length must be >= 1, but got 0")
                    .with_context(json!({ "expected": 1, "actual": 0 })),
            );
            None
        }
        Some(name) => Some(name),
    }
}

async fn update_settings(
    r: &Registry,
    f: &mut Flow,
    session: &Session,
    identity: &Identity,
    fields: &Fields,
) -> Result<Changed> {
    if !is_privileged(r, session) {
        return Err(refresh_required(r, f));
    }
    if let Some(hex_id) = field(fields, "webauthn_remove").filter(|v| !v.is_empty()) {
        let texts = RemoveTexts {
            unknown: "You tried to remove a WebAuthn credential which does not exist.",
            node: "webauthn_remove",
        };
        // Keys that are only a second factor can always go.
        let lone = key_sets::first_factors(r, identity) < 2;
        return key_sets::remove(r, f, identity, ID, &hex_id, texts, |k| {
            k.is_passwordless && lone
        })
        .await;
    }
    let now = r.clock.now();
    let mut set = key_sets::keys_to_change(identity, ID)?;
    let Some(answer) = field(fields, "webauthn_register").filter(|v| !v.is_empty()) else {
        f.ui.messages.push(Message::error(4010004, "Could not find a strategy to update your settings. Did you fill out the form correctly?"));
        return Ok(Changed::Invalid);
    };
    let Some(name) = display_name(f, fields) else {
        return Ok(Changed::Invalid);
    };
    let key = match ceremony::finish_registration(
        r,
        Rp::Webauthn,
        f,
        &answer,
        name,
        passwordless(r),
        now,
    )? {
        Ok(key) => key,
        Err(m) => {
            f.ui.messages.push(m);
            return Ok(Changed::Invalid);
        }
    };
    let is_passwordless = key.is_passwordless;
    set.credentials.push(key);
    set.user_handle = Some(identity.id.0.as_bytes().to_vec());
    let mut updated = key_sets::with_keys(identity, ID, &set, Vec::new(), now);
    identity_manager::prepare(&r.schemas, &mut updated, now)?;
    if updated.credentials[ID].identifiers.is_empty() {
        f.ui.messages.push(ceremony::no_identifiers());
        return Ok(Changed::Invalid);
    }
    r.sessions().update_identity(&updated).await?;
    ceremony::forget(f, Rp::Webauthn);
    let method = if is_passwordless {
        AuthenticationMethod::first_factor(ID, now)
    } else {
        AuthenticationMethod::second_factor(ID, now)
    };
    r.sessions().add_method(session, method).await?;
    Ok(Changed::Saved(Box::new(updated)))
}
