//! Credential methods as plug-ins, one room each (as Kratos's `selfservice/strategy/<method>/`).
//!
//! A flow (login, registration, settings) asks every enabled method for its UI nodes, and hands a
//! submission to the method its `method` field names. A method adds nodes, parses and checks its
//! own fields, builds or changes its credentials, and names the AMR entry it contributes; the flow
//! keeps what all methods share (CSRF, expiry, state, sessions, hooks). Adding a method is a new
//! file here and a line in [`ALL`]; no flow file changes.
//!
//! Owns: the method's nodes, fields and credentials. Must not: answer HTTP, issue sessions, or
//! move a flow's state.

pub mod address;
mod ceremony;
pub mod code;
mod key_sets;
mod lookup;
mod passkey;
mod password;
mod profile;
mod totp;
mod traits;
mod webauthn;

use super::flow::{Flow, Kind};
use super::request::FlowRequest;
use crate::error::Result;
use crate::identity::Identity;
use crate::registry::Registry;
use crate::session::{Aal, AuthenticationMethod, Session};
use futures::future::BoxFuture;
use serde_json::Value;

/// A method's asynchronous answer.
pub type Fut<'a, T> = BoxFuture<'a, Result<T>>;

/// A login a method accepted: whom it authenticated, as what, and the identifier used.
pub struct LoggedIn {
    pub identity: Identity,
    pub method: AuthenticationMethod,
    pub identifier: String,
}

/// A settings change a method made (already stored), refused (messages on the flow), or a next
/// step of the method to show (backup codes revealed or generated: nothing stored, no success).
pub enum Changed {
    Saved(Box<Identity>),
    Invalid,
    Shown,
}

/// The fields a submission carries for the methods, as one JSON object (form posts are unflattened
/// and their traits coerced to the schema's types before they get here).
pub type Fields = Value;

/// A field of a submission as text: strings as they are, other values as their JSON, null as
/// absent (the forms Kratos's SDKs and browsers send).
pub fn field(fields: &Fields, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A login, registration or settings submission: the method it names, its CSRF token, the
/// transient payload (handed to hooks untouched), and every field for the method to read.
#[derive(Debug, Default)]
pub struct Submission {
    pub method: Option<String>,
    pub csrf_token: Option<String>,
    pub transient_payload: Option<Value>,
    pub fields: Fields,
}

impl Submission {
    /// A submission from its body (JSON, or a form already turned into JSON).
    pub fn read(fields: Fields) -> Submission {
        Submission {
            method: field(&fields, "method"),
            csrf_token: field(&fields, "csrf_token"),
            transient_payload: fields.get("transient_payload").cloned(),
            fields,
        }
    }
}

/// One credential method. Every method takes part only in the flows it implements; the defaults
/// say "not here".
pub trait Strategy: Send + Sync {
    /// The method's id: the `method` of a submission and the `group` of its nodes.
    fn id(&self) -> &'static str;

    /// Whether `selfservice.methods.<id>.enabled` says the method is on.
    fn enabled(&self, r: &Registry) -> bool;

    /// Whether the method takes part in flows of this kind.
    fn takes_part(&self, kind: Kind) -> bool;

    /// Whether a submission belongs to this method whatever its `method` says (fields only this
    /// method posts, such as `totp_unlink`, the backup-code buttons, or a WebAuthn answer).
    fn claims(&self, _fields: &Fields) -> bool {
        false
    }

    /// The assurance level a login with this method reaches: a login flow offers and accepts
    /// only the methods of the level it was opened for (`aal=aal2`: the second factors).
    fn login_aal(&self, _r: &Registry) -> Aal {
        Aal::Aal1
    }

    /// Add the method's nodes to a new flow. `identity` is the settings flow's owner, or the
    /// identity (with credentials) of the session an aal2 login flow steps up.
    fn nodes<'a>(
        &'a self,
        r: &'a Registry,
        req: &'a FlowRequest,
        f: &'a mut Flow,
        identity: Option<&'a Identity>,
    ) -> Fut<'a, ()>;

    /// Check a login submission: the identity, or None with the reason as messages on the flow.
    fn login<'a>(
        &'a self,
        _r: &'a Registry,
        _req: &'a FlowRequest,
        _f: &'a mut Flow,
        _fields: &'a Fields,
    ) -> Fut<'a, Option<LoggedIn>> {
        Box::pin(async { Ok(None) })
    }

    /// Check a registration submission: the new identity with the method's credentials (not yet
    /// stored), or None with the reasons as messages on the flow.
    fn register<'a>(
        &'a self,
        _r: &'a Registry,
        _req: &'a FlowRequest,
        _f: &'a mut Flow,
        _fields: &'a Fields,
    ) -> Fut<'a, Option<Identity>> {
        Box::pin(async { Ok(None) })
    }

    /// Apply a settings submission to `identity` and store it.
    fn update_settings<'a>(
        &'a self,
        _r: &'a Registry,
        _req: &'a FlowRequest,
        _f: &'a mut Flow,
        _session: &'a Session,
        _identity: &'a Identity,
        _fields: &'a Fields,
    ) -> Fut<'a, Changed> {
        Box::pin(async { Ok(Changed::Invalid) })
    }
}

/// Every method Ostiary has, in the order their nodes appear.
static ALL: &[&dyn Strategy] = &[
    &profile::Profile,
    &password::Password,
    &lookup::Lookup,
    &totp::Totp,
    &passkey::Passkey,
    &webauthn::Webauthn,
];

/// The enabled methods taking part in flow `f`, in node order (for a login flow, those of the
/// assurance level it asks for).
pub fn for_flow<'a>(r: &'a Registry, f: &Flow) -> impl Iterator<Item = &'static dyn Strategy> + 'a {
    let (kind, aal) = (f.kind, f.requested_aal);
    ALL.iter().copied().filter(move |s| {
        s.takes_part(kind) && s.enabled(r) && (kind != Kind::Login || s.login_aal(r) == aal)
    })
}

/// The enabled method of a submission's `method`, if it takes part in flow `f`.
pub fn find(r: &Registry, f: &Flow, method: Option<&str>) -> Option<&'static dyn Strategy> {
    let method = method?;
    for_flow(r, f).find(|s| s.id() == method)
}

/// Add the nodes of every enabled method of the flow's kind.
pub async fn draw(
    r: &Registry,
    req: &FlowRequest,
    f: &mut Flow,
    identity: Option<&Identity>,
) -> Result<()> {
    let methods: Vec<&'static dyn Strategy> = for_flow(r, f).collect();
    for s in methods {
        s.nodes(r, req, f, identity).await?;
    }
    Ok(())
}
