//! The `passkey` method: discoverable credentials on the user's device. Registration with a
//! passkey instead of a password, login with a passkey alone (the authenticator says whose it is),
//! and adding or removing passkeys in settings. The identity keeps its passkeys in its `passkey`
//! credential; each passkey's user handle (64 random letters and digits) is an identifier, so the
//! handle an authenticator returns finds the account. The ceremonies are `ceremony.rs`'s.

use super::ceremony::{self, Rp};
use super::key_sets::{self, RemoveTexts};
use super::{field, Changed, Fields, Fut, LoggedIn, Strategy};
use crate::error::Result;
use crate::identity::webauthn_keys::{KeySet, StoredKey};
use crate::identity::{manager as identity_manager, Identity};
use crate::registry::Registry;
use crate::selfservice::flow::{self, Flow, FlowType, Kind};
use crate::selfservice::request::FlowRequest;
use crate::selfservice::settings::{is_privileged, refresh_required};
use crate::selfservice::text;
use crate::selfservice::ui::{Message, Node};
use crate::selfservice::webauthn_script;
use crate::session::{AuthenticationMethod, Session};
use rand::distributions::{Alphanumeric, DistString};
use serde_json::{json, Value};

pub struct Passkey;

const ID: &str = "passkey";

impl Strategy for Passkey {
    fn id(&self) -> &'static str {
        ID
    }

    fn enabled(&self, r: &Registry) -> bool {
        r.config.selfservice.methods.passkey.enabled
    }

    fn takes_part(&self, kind: Kind) -> bool {
        matches!(kind, Kind::Login | Kind::Registration | Kind::Settings)
    }

    fn claims(&self, fields: &Fields) -> bool {
        let set = |k: &str| field(fields, k).is_some_and(|v| !v.is_empty());
        set("passkey_login")
            || set("passkey_settings_register")
            || set("passkey_remove")
            || field(fields, "passkey_register").is_some_and(|v| !v.is_empty() && v != "true")
    }

    fn nodes<'a>(
        &'a self,
        r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        identity: Option<&'a Identity>,
    ) -> Fut<'a, ()> {
        Box::pin(async move {
            match (f.kind, identity) {
                (Kind::Settings, Some(identity)) => settings_nodes(r, f, identity),
                (Kind::Login, None) if !f.refresh => login_nodes(r, f, true),
                (Kind::Login, Some(identity)) if f.refresh => refresh_nodes(r, f, identity),
                (Kind::Registration, _) => registration_nodes(r, f),
                _ => Ok(()),
            }
        })
    }

    fn login<'a>(
        &'a self,
        r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        fields: &'a Fields,
    ) -> Fut<'a, Option<LoggedIn>> {
        Box::pin(login(r, f, fields))
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

fn browser(f: &Flow) -> bool {
    f.flow_type == FlowType::Browser
}

/// A button or hidden input that calls `function` of `webauthn.js` (the raw `onclick`/`onload`
/// only in browser flows, as Kratos does).
fn calls(mut n: Node, f: &Flow, event: &str, function: &str) -> Node {
    if browser(f) {
        n = n.attr(event, format!("window.{function}()"));
    }
    n.attr(&format!("{event}Trigger"), function)
}

fn keys_of(identity: &Identity) -> KeySet {
    key_sets::keys_of(identity, ID)
}

/// A new user handle: 64 letters and digits.
fn new_handle() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 64)
}

/// The trait that names a passkey's user: the one marked `credentials.passkey.display_name`,
/// else the first marked `credentials.webauthn.identifier`; as the node name and its value.
fn display_name_trait(r: &Registry, traits: Option<&Value>) -> Option<(String, String)> {
    let schema = r.schemas.default_schema();
    let exts = &schema.extensions;
    let ext = exts
        .iter()
        .find(|e| e.passkey_display_name)
        .or_else(|| exts.iter().find(|e| e.webauthn_identifier))?;
    let name = format!("traits.{}", ext.dotted());
    let value = traits
        .map(|t| {
            schema
                .trait_values(t)
                .into_iter()
                .find(|v| v.ext.dotted() == ext.dotted())
                .map(|v| {
                    if ext.passkey_display_name {
                        v.value
                    } else {
                        v.value.to_lowercase()
                    }
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    Some((name, value))
}

/// The login form: the identifier (for the browser's passkey autofill), the challenge, and the
/// button; `with_trigger` false after a bare `method=passkey` submission, as in Kratos.
fn login_nodes(r: &Registry, f: &mut Flow, with_trigger: bool) -> Result<()> {
    let start = ceremony::start_login(r, Rp::Passkey, &[])?;
    f.internal.insert(Rp::Passkey.state_key(), start.state);
    if f.ui.node_mut("identifier").is_none() {
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
    f.ui.nodes
        .push(Node::input(ID, "passkey_challenge", "hidden").value(start.options.to_string()));
    if browser(f) {
        webauthn_script::ensure(r, &mut f.ui.nodes);
    }
    let login = calls(
        Node::input(ID, "passkey_login", "hidden"),
        f,
        "onload",
        "oryPasskeyLoginAutocompleteInit",
    );
    f.ui.nodes.push(login);
    if with_trigger {
        let button = calls(
            Node::input(ID, "passkey_login_trigger", "button")
                .value("")
                .label(Message::info(1010021, "Sign in with passkey")),
            f,
            "onclick",
            "oryPasskeyLogin",
        );
        f.ui.nodes.push(button);
    }
    Ok(())
}

/// A refresh of a session: the identity's own passkeys, named to the browser.
fn refresh_nodes(r: &Registry, f: &mut Flow, identity: &Identity) -> Result<()> {
    let keys = keys_of(identity).credentials;
    if keys.is_empty() {
        return Ok(());
    }
    let start = ceremony::start_login(r, Rp::Passkey, &keys)?;
    f.internal.insert(Rp::Passkey.state_key(), start.state);
    f.ui.nodes
        .push(Node::input(ID, "passkey_challenge", "hidden").value(start.options.to_string()));
    if browser(f) {
        webauthn_script::ensure(r, &mut f.ui.nodes);
    }
    f.ui.nodes.push(Node::input(ID, "passkey_login", "hidden"));
    let button = calls(
        Node::input(ID, "passkey_login_trigger", "button")
            .value("")
            .label(Message::info(1010021, "Sign in with passkey")),
        f,
        "onclick",
        "oryPasskeyLogin",
    );
    f.ui.nodes.push(button);
    if f.ui.node_mut("identifier").is_none() {
        let name = display_name_trait(r, Some(&identity.traits))
            .map(|(_, v)| v)
            .unwrap_or_default();
        f.ui.nodes
            .push(Node::input("default", "identifier", "hidden").value(name));
    }
    Ok(())
}

fn registration_nodes(r: &Registry, f: &mut Flow) -> Result<()> {
    super::traits::ensure_nodes(r, f);
    let Some((field_name, _)) = display_name_trait(r, None) else {
        return Err(crate::error::Error::internal(
            "Could not find the trait that names a passkey's user: mark one `credentials.passkey.display_name` or `credentials.webauthn.identifier` in the identity schema.",
        ));
    };
    let options = ceremony::creation_options(r, f, Rp::Passkey, new_handle().as_bytes(), "")?;
    let data = json!({ "credentialOptions": options, "displayNameFieldName": field_name });
    f.ui.nodes
        .push(Node::input(ID, "passkey_create_data", "hidden").value(data.to_string()));
    let button = calls(
        Node::input(ID, "passkey_register_trigger", "button")
            .label(Message::info(1040007, "Sign up with passkey")),
        f,
        "onclick",
        "oryPasskeyRegistration",
    );
    f.ui.nodes.push(button);
    if browser(f) {
        webauthn_script::ensure(r, &mut f.ui.nodes);
    }
    f.ui.nodes
        .push(Node::input(ID, "passkey_register", "hidden"));
    Ok(())
}

fn settings_nodes(r: &Registry, f: &mut Flow, identity: &Identity) -> Result<()> {
    let lone = key_sets::first_factors(r, identity) < 2;
    for key in keys_of(identity).credentials {
        let (name, ctx) = ceremony::remove_context(&key);
        f.ui.nodes.push(
            Node::input(ID, "passkey_remove", "submit")
                .value(hex::encode(&key.id))
                .attr("disabled", lone)
                .label(
                    Message::info(1050020, format!("Remove passkey \"{name}\"")).with_context(ctx),
                ),
        );
    }
    let user_name = display_name_trait(r, Some(&identity.traits))
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty());
    let Some(user_name) = user_name else {
        f.ui.messages.push(ceremony::no_identifiers());
        return Ok(());
    };
    let options =
        ceremony::creation_options(r, f, Rp::Passkey, new_handle().as_bytes(), &user_name)?;
    if browser(f) {
        webauthn_script::ensure(r, &mut f.ui.nodes);
    }
    let button = calls(
        Node::input(ID, "passkey_register_trigger", "button")
            .value("")
            .label(Message::info(1050019, "Add passkey")),
        f,
        "onclick",
        "oryPasskeySettingsRegistration",
    );
    f.ui.nodes.push(button);
    f.ui.nodes
        .push(Node::input(ID, "passkey_settings_register", "hidden"));
    f.ui.nodes
        .push(Node::input(ID, "passkey_create_data", "hidden").value(options.to_string()));
    Ok(())
}

async fn login(r: &Registry, f: &mut Flow, fields: &Fields) -> Result<Option<LoggedIn>> {
    let Some(answer) = field(fields, "passkey_login").filter(|v| !v.is_empty()) else {
        // `method=passkey` alone: a fresh challenge, and the browser asks the authenticator.
        f.ui.nodes.retain(|n| n.name() == "csrf_token");
        login_nodes(r, f, false)?;
        f.save(r).await?;
        return Err(flow::location_change(&flow::ui_redirect(
            r,
            Kind::Login,
            f.id,
        )));
    };
    let Some(rsp) = ceremony::parse_assertion(&answer) else {
        f.ui.messages.push(ceremony::unparsable_assertion());
        return Ok(None);
    };
    let handle = rsp
        .response
        .user_handle
        .as_ref()
        .and_then(|h| String::from_utf8(h.clone()).ok())
        .unwrap_or_default();
    let found = if handle.is_empty() {
        None
    } else {
        r.persister.find_identity_by_identifier(ID, &handle).await?
    };
    let Some(identity) = found else {
        f.ui.messages.push(ceremony::no_such_account());
        return Ok(None);
    };
    let keys: Vec<StoredKey> = keys_of(&identity).credentials;
    if keys.is_empty() {
        f.ui.messages.push(Message::error(
            4000013,
            "You have no WebAuthn device set up.",
        ));
        return Ok(None);
    }
    if !ceremony::verify_login(r, Rp::Passkey, f, &rsp, &keys)? {
        f.ui.messages.push(ceremony::invalid_assertion());
        return Ok(None);
    }
    f.internal.remove(&Rp::Passkey.state_key());
    Ok(Some(LoggedIn {
        identity,
        method: AuthenticationMethod::first_factor(ID, r.clock.now()),
        identifier: handle,
    }))
}

async fn register(r: &Registry, f: &mut Flow, fields: &Fields) -> Result<Option<Identity>> {
    let answer = field(fields, "passkey_register").unwrap_or_default();
    if answer.is_empty() || answer == "true" {
        f.ui.messages.push(text::no_registration_strategy());
        return Ok(None);
    }
    let Some(traits) = super::traits::from_submission(r, f, fields) else {
        return Ok(None);
    };
    let now = r.clock.now();
    let key = match ceremony::finish_registration(
        r,
        Rp::Passkey,
        f,
        &answer,
        String::new(),
        true,
        now,
    )? {
        Ok(key) => key,
        Err(m) => {
            f.ui.messages.push(m);
            return Ok(None);
        }
    };
    let Some(handle) =
        ceremony::options_user_handle(f, Rp::Passkey).and_then(|h| String::from_utf8(h).ok())
    else {
        return Err(crate::error::Error::internal(
            "Expected WebAuthN in internal context to be an object.",
        ));
    };
    let schema = r.schemas.default_schema().clone();
    let mut identity = Identity::new(&schema.id, traits, now);
    let set = KeySet {
        credentials: vec![key],
        user_handle: Some(handle.clone().into_bytes()),
    };
    identity
        .credentials
        .insert(ID.into(), key_sets::credential(ID, &set, vec![handle], now));
    identity_manager::prepare(&r.schemas, &mut identity, now)?;
    Ok(Some(identity))
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
    if let Some(hex_id) = field(fields, "passkey_remove").filter(|v| !v.is_empty()) {
        let texts = RemoveTexts {
            unknown: "You tried to remove a passkey which does not exist.",
            // Kratos puts the message on a `webauthn_remove` node, made for it if need be.
            node: "webauthn_remove",
        };
        let lone = key_sets::first_factors(r, identity) < 2;
        return key_sets::remove(r, f, identity, ID, &hex_id, texts, |_| lone).await;
    }
    let now = r.clock.now();
    let mut set = key_sets::keys_to_change(identity, ID)?;
    let Some(answer) = field(fields, "passkey_settings_register").filter(|v| !v.is_empty()) else {
        f.ui.messages.push(Message::error(4010004, "Could not find a strategy to update your settings. Did you fill out the form correctly?"));
        return Ok(Changed::Invalid);
    };
    let key = match ceremony::finish_registration(
        r,
        Rp::Passkey,
        f,
        &answer,
        String::new(),
        true,
        now,
    )? {
        Ok(key) => key,
        Err(m) => {
            f.ui.messages.push(m);
            return Ok(Changed::Invalid);
        }
    };
    let Some(handle) =
        ceremony::options_user_handle(f, Rp::Passkey).and_then(|h| String::from_utf8(h).ok())
    else {
        return Err(crate::error::Error::internal(
            "Expected WebAuthN in internal context to be an object.",
        ));
    };
    set.credentials.push(key);
    set.user_handle = Some(handle.clone().into_bytes());
    let mut identifiers = identity
        .credentials
        .get(ID)
        .map_or_else(Vec::new, |c| c.identifiers.clone());
    identifiers.push(handle);
    let updated = key_sets::with_keys(identity, ID, &set, identifiers, now);
    r.sessions().update_identity(&updated).await?;
    ceremony::forget(f, Rp::Passkey);
    let method = AuthenticationMethod::first_factor(ID, now);
    r.sessions().add_method(session, method).await?;
    Ok(Changed::Saved(Box::new(updated)))
}
