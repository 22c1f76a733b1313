//! The `totp` method: an authenticator app's codes. Set up in settings (a QR code and the secret
//! as text, confirmed with a first code; unlinked again), and asked for by a login flow opened
//! with `aal=aal2`, which lifts the caller's session to aal2. The identity keeps the key's
//! `otpauth://` URL as its `totp` credential (identifier: the identity id); a settings flow keeps
//! the key it shows in its internal context until a code confirms it. The key maths is
//! `identity/totp_key.rs`.

use super::{field, Changed, Fields, Fut, LoggedIn, Strategy};
use crate::error::{Error, Result};
use crate::identity::totp_key;
use crate::identity::{Credential, Identity};
use crate::registry::Registry;
use crate::selfservice::flow::{Flow, Kind};
use crate::selfservice::rate_limit;
use crate::selfservice::request::FlowRequest;
use crate::selfservice::settings::{is_privileged, refresh_required};
use crate::selfservice::text;
use crate::selfservice::ui::{Message, Node};
use crate::session::{Aal, AuthenticationMethod, Session};
use serde_json::{json, Value};

pub struct Totp;

const ID: &str = "totp";
/// Where a settings flow keeps the key it shows, until it is confirmed.
const PENDING: &str = "totp_url";

impl Strategy for Totp {
    fn id(&self) -> &'static str {
        ID
    }

    fn enabled(&self, r: &Registry) -> bool {
        r.config.selfservice.methods.totp.enabled
    }

    fn takes_part(&self, kind: Kind) -> bool {
        matches!(kind, Kind::Login | Kind::Settings)
    }

    fn login_aal(&self, _r: &Registry) -> Aal {
        Aal::Aal2
    }

    fn claims(&self, fields: &Fields) -> bool {
        unlink_asked(fields)
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
                (Kind::Login, Some(identity)) => login_nodes(f, identity),
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

/// `selfservice.methods.totp.config.issuer`, else the public base URL's host.
fn issuer(r: &Registry) -> String {
    r.config
        .selfservice
        .methods
        .totp
        .config
        .issuer
        .clone()
        .filter(|i| !i.is_empty())
        .or_else(|| {
            url::Url::parse(&r.public_base)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
        })
        .unwrap_or_else(|| "Ostiary".into())
}

/// The name an authenticator app shows for the account: the trait the schema marks
/// `credentials.totp.account_name`, else the identity id.
fn account_name(r: &Registry, identity: &Identity) -> String {
    r.schemas
        .get(&identity.schema_id)
        .and_then(|s| {
            // The last one marked wins, as in Kratos.
            s.trait_values(&identity.traits)
                .into_iter()
                .rev()
                .find(|v| v.ext.totp_account_name)
                .map(|v| v.value)
        })
        .unwrap_or_else(|| identity.id.to_string())
}

fn has_totp(identity: &Identity) -> bool {
    identity
        .credentials
        .get(ID)
        .and_then(|c| c.config.get("totp_url"))
        .and_then(Value::as_str)
        .is_some_and(|u| !u.is_empty())
}

fn code_node(label: Message) -> Node {
    Node::input(ID, "totp_code", "text").required().label(label)
}

fn settings_nodes(r: &Registry, f: &mut Flow, identity: &Identity) -> Result<()> {
    if has_totp(identity) {
        f.ui.nodes.push(
            Node::input(ID, "totp_unlink", "submit")
                .value("true")
                .required()
                .label(Message::info(1050004, "Unlink TOTP Authenticator App")),
        );
        return Ok(());
    }
    // The key shown stays the same across failed submissions of this flow.
    let url = match f.internal.get(PENDING).and_then(Value::as_str) {
        Some(u) => u.to_string(),
        None => {
            let u = totp_key::new_url(&issuer(r), &account_name(r, identity));
            f.internal.insert(PENDING.into(), json!(u));
            u
        }
    };
    let secret = totp_key::secret_of(&url).unwrap_or_default();
    let qr = totp_key::qr_data_uri(&url)
        .ok_or_else(|| Error::internal("could not draw the TOTP QR code"))?;
    f.ui.nodes.push(
        Node::image(ID, "totp_qr", &qr, 256, 256)
            .label(Message::info(1050005, "Authenticator app QR code")),
    );
    f.ui.nodes.push(
        Node::text(
            ID,
            "totp_secret_key",
            Message::info(1050006, secret.clone()).with_context(json!({ "secret": secret })),
        )
        .label(Message::info(
            1050017,
            "This is your authenticator app secret. Use it if you can not scan the QR code.",
        )),
    );
    f.ui.nodes
        .push(code_node(Message::info(1070006, "Verify code")));
    f.ui.nodes.push(
        Node::input(ID, "method", "submit")
            .value(ID)
            .label(text::save_label()),
    );
    Ok(())
}

/// The second-factor form of a login flow opened with `aal=aal2` by a session whose identity
/// (`identity`, with credentials) has an authenticator app.
fn login_nodes(f: &mut Flow, identity: &Identity) -> Result<()> {
    if !has_totp(identity) {
        return Ok(());
    }
    f.ui.nodes
        .push(code_node(Message::info(1010006, "Authentication code")).value(""));
    f.ui.nodes.push(
        Node::input(ID, "method", "submit")
            .value(ID)
            .label(Message::info(1010009, "Use Authenticator")),
    );
    Ok(())
}

fn invalid_code() -> Message {
    Message::error(
        4000008,
        "The provided authentication code is invalid, please try again.",
    )
}

async fn login(
    r: &Registry,
    req: &FlowRequest,
    f: &mut Flow,
    fields: &Fields,
) -> Result<Option<LoggedIn>> {
    if f.requested_aal != Aal::Aal2 {
        f.ui.messages.push(text::no_login_strategy());
        return Ok(None);
    }
    let Some((session, _)) = &req.current else {
        return Err(crate::selfservice::login::aal1_required());
    };
    let code = field(fields, "totp_code").unwrap_or_default();
    if code.trim().is_empty() {
        f.ui.add_node_message("totp_code", text::missing("totp_code"));
        return Ok(None);
    }
    let identity = r.persister.get_identity(session.identity_id, true).await?;
    let Some(identity) = identity.filter(has_totp) else {
        f.ui.messages
            .push(Message::error(4000011, "You have no TOTP device set up."));
        return Ok(None);
    };
    let url = identity.credentials[ID].config["totp_url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let now = r.clock.now();
    let client = req.client_address.as_deref();
    rate_limit::second_factor_attempt(r, client, identity.id).await?;
    if !totp_key::verify(&url, &code, now) {
        f.ui.messages.push(invalid_code());
        if let Some(n) = f.ui.node_mut("totp_code") {
            n.attributes.remove("value");
        }
        return Ok(None);
    }
    rate_limit::second_factor_succeeded(r, client, identity.id).await?;
    Ok(Some(LoggedIn {
        identity,
        method: AuthenticationMethod::second_factor(ID, now),
        identifier: String::new(),
    }))
}

/// Whether a submission asks to unlink (`totp_unlink` true, as a boolean or form text).
fn unlink_asked(fields: &Fields) -> bool {
    match fields.get("totp_unlink") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
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
    let now = r.clock.now();
    let mut updated = identity.clone();
    if has_totp(identity) {
        if !unlink_asked(fields) {
            // Kratos answers a submission that neither unlinks nor could set up with success.
            return Ok(Changed::Saved(Box::new(updated)));
        }
        updated.credentials.remove(ID);
        updated.updated_at = now;
        r.sessions().update_identity(&updated).await?;
        return Ok(Changed::Saved(Box::new(updated)));
    }
    let Some(url) = f
        .internal
        .get(PENDING)
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(Error::internal(
            "Could not find the TOTP key in the internal context. This is a code bug and should be reported to https://github.com/ory/kratos/.",
        ));
    };
    let code = field(fields, "totp_code").unwrap_or_default();
    if code.trim().is_empty() {
        f.ui.add_node_message("totp_code", text::missing("totp_code"));
        return Ok(Changed::Invalid);
    }
    if !totp_key::verify(&url, &code, now) {
        f.ui.messages.clear();
        f.ui.add_node_message("totp_code", invalid_code());
        return Ok(Changed::Invalid);
    }
    updated.credentials.insert(
        ID.into(),
        Credential {
            kind: ID.into(),
            identifiers: vec![identity.id.to_string()],
            config: json!({ "totp_url": url }),
            version: 0,
            created_at: now,
            updated_at: now,
        },
    );
    updated.updated_at = now;
    r.sessions().update_identity(&updated).await?;
    f.internal.remove(PENDING);
    // The code just typed is a second factor of the session that typed it.
    let method = AuthenticationMethod::second_factor(ID, now);
    r.sessions().add_method(session, method).await?;
    Ok(Changed::Saved(Box::new(updated)))
}
