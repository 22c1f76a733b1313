//! The `lookup_secret` method: backup codes. Settings generates twelve (kept in the flow's
//! internal context until confirmed), reveals the stored ones (used ones marked with their time),
//! and disables them; a login flow opened with `aal=aal2` takes one unused code as a second
//! factor, which is then marked used. A code is used once even when two logins race: the mark
//! is a versioned write of the identity, re-read and re-checked when another write came first.

use super::{field, Changed, Fields, Fut, LoggedIn, Strategy};
use crate::error::Result;
use crate::identity::{Credential, Identity};
use crate::registry::Registry;
use crate::selfservice::flow::{Flow, Kind};
use crate::selfservice::rate_limit;
use crate::selfservice::request::FlowRequest;
use crate::selfservice::settings::{is_privileged, refresh_required};
use crate::selfservice::text;
use crate::selfservice::ui::{Message, Node};
use crate::session::{Aal, AuthenticationMethod, Session};
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{json, Value};

pub struct Lookup;

const ID: &str = "lookup_secret";
/// Where a settings flow keeps codes it generated, until they are confirmed.
const PENDING: &str = "lookup_secret_regenerated";
/// How many codes a set has, and their length and alphabet (as Kratos makes them).
const CODES: usize = 12;
const CODE_LEN: usize = 8;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

impl Strategy for Lookup {
    fn id(&self) -> &'static str {
        ID
    }

    fn enabled(&self, r: &Registry) -> bool {
        r.config.selfservice.methods.lookup_secret.enabled
    }

    fn takes_part(&self, kind: Kind) -> bool {
        matches!(kind, Kind::Login | Kind::Settings)
    }

    fn login_aal(&self, _r: &Registry) -> Aal {
        Aal::Aal2
    }

    fn claims(&self, fields: &Fields) -> bool {
        Action::of(fields).is_some()
    }

    fn nodes<'a>(
        &'a self,
        _r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        identity: Option<&'a Identity>,
    ) -> Fut<'a, ()> {
        Box::pin(async move {
            match (f.kind, identity) {
                (Kind::Settings, Some(identity)) => settings_nodes(f, identity),
                (Kind::Login, Some(identity)) => login_nodes(f, identity),
                _ => {}
            }
            Ok(())
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

/// One backup code as stored: the code, and when it was used.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Code {
    code: String,
    #[serde(default, with = "used_at")]
    used_at: Option<DateTime<Utc>>,
}

mod used_at {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => crate::time::serialize(t, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

/// The identity's stored codes (none when it has no credential).
fn stored(identity: &Identity) -> Vec<Code> {
    identity
        .credentials
        .get(ID)
        .and_then(|c| c.config.get("recovery_codes"))
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

fn new_codes() -> Vec<Code> {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..CODES)
        .map(|_| Code {
            code: (0..CODE_LEN)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect(),
            used_at: None,
        })
        .collect()
}

fn button(name: &str, label: Message) -> Node {
    Node::input(ID, name, "submit").value("true").label(label)
}

fn reveal_button() -> Node {
    button(
        "lookup_secret_reveal",
        Message::info(1050007, "Reveal backup recovery codes"),
    )
}
fn regenerate_button() -> Node {
    button(
        "lookup_secret_regenerate",
        Message::info(1050008, "Generate new backup recovery codes"),
    )
}
fn disable_button() -> Node {
    button(
        "lookup_secret_disable",
        Message::info(1050016, "Disable this method"),
    )
}
fn confirm_button() -> Node {
    button(
        "lookup_secret_confirm",
        Message::info(1050011, "Confirm backup recovery codes"),
    )
}

/// "Secret was used at …" in Go's `time.String()` form, as Kratos writes it.
fn go_time(t: DateTime<Utc>) -> String {
    let frac = t.format("%.9f").to_string();
    let frac = frac.trim_end_matches('0');
    let frac = if frac == "." { "" } else { frac };
    format!("{}{frac} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"))
}

/// The codes as a text node: each unused code, or `used` (with its time in the context).
fn codes_node(codes: &[Code]) -> Node {
    let text: Vec<&str> = codes
        .iter()
        .map(|c| {
            if c.used_at.is_some() {
                "used"
            } else {
                c.code.as_str()
            }
        })
        .collect();
    let secrets: Vec<Message> = codes
        .iter()
        .map(|c| match c.used_at {
            Some(t) => Message::info(1050014, format!("Secret was used at {}", go_time(t)))
                .with_context(json!({
                    "used_at": crate::time::rfc3339(&t),
                    "used_at_unix": t.timestamp(),
                })),
            None => Message::info(1050009, c.code.clone()).with_context(json!({"secret": c.code})),
        })
        .collect();
    Node::text(
        ID,
        "lookup_secret_codes",
        Message::info(1050015, text.join(", ")).with_context(json!({ "secrets": secrets })),
    )
    .label(Message::info(
        1050010,
        "These are your back up recovery codes. Please keep them in a safe place!",
    ))
}

fn settings_nodes(f: &mut Flow, identity: &Identity) {
    if stored(identity).is_empty() {
        f.ui.nodes.push(regenerate_button());
    } else {
        f.ui.nodes.push(reveal_button());
        f.ui.nodes.push(disable_button());
    }
}

/// The backup-code form of an aal2 login flow whose identity (with credentials) has codes.
fn login_nodes(f: &mut Flow, identity: &Identity) {
    if !identity.credentials.contains_key(ID) {
        return;
    }
    f.ui.nodes.push(
        Node::input(ID, "lookup_secret", "text")
            .value("")
            .required()
            .label(Message::info(1010007, "Backup recovery code")),
    );
    f.ui.nodes.push(
        Node::input(ID, "method", "submit")
            .value(ID)
            .label(Message::info(1010010, "Use backup recovery code")),
    );
}

/// What happened to a submitted code.
enum Redeemed {
    Used,
    AlreadyUsed,
    Unknown,
    NoCodes,
}

async fn login(
    r: &Registry,
    req: &FlowRequest,
    f: &mut Flow,
    fields: &Fields,
) -> Result<Option<LoggedIn>> {
    let Some((session, _)) = &req.current else {
        return Err(crate::selfservice::login::aal1_required());
    };
    let Some(submitted) = field(fields, "lookup_secret").filter(|c| !c.is_empty()) else {
        f.ui.add_node_message("lookup_secret", text::missing("lookup_secret"));
        return Ok(None);
    };
    let now = r.clock.now().trunc_subsecs(0);
    let client = req.client_address.as_deref();
    rate_limit::second_factor_attempt(r, client, session.identity_id).await?;
    let mut outcome = Redeemed::NoCodes;
    let identity = r
        .sessions()
        .modify_identity(session.identity_id, |identity| {
            let mut codes = stored(identity);
            outcome = match codes.iter_mut().find(|c| c.code == submitted) {
                _ if !identity.credentials.contains_key(ID) => Redeemed::NoCodes,
                None => Redeemed::Unknown,
                Some(c) if c.used_at.is_some() => Redeemed::AlreadyUsed,
                Some(c) => {
                    c.used_at = Some(now);
                    Redeemed::Used
                }
            };
            if !matches!(outcome, Redeemed::Used) {
                return false;
            }
            if let Some(cred) = identity.credentials.get_mut(ID) {
                cred.config = json!({ "recovery_codes": codes });
                cred.updated_at = now;
            }
            identity.updated_at = now;
            true
        })
        .await?;
    let message = match outcome {
        Redeemed::Used => None,
        Redeemed::AlreadyUsed => Some(Message::error(
            4000012,
            "This backup recovery code has already been used.",
        )),
        Redeemed::Unknown => Some(Message::error(
            4000016,
            "The backup recovery code is not valid.",
        )),
        Redeemed::NoCodes => Some(Message::error(
            4000014,
            "You have no backup recovery codes set up.",
        )),
    };
    match (message, identity) {
        (None, Some(identity)) => {
            rate_limit::second_factor_succeeded(r, client, identity.id).await?;
            Ok(Some(LoggedIn {
                identity,
                method: AuthenticationMethod::second_factor(ID, now),
                identifier: String::new(),
            }))
        }
        (message, _) => {
            f.ui.messages.push(message.unwrap_or_else(|| {
                Message::error(4000014, "You have no backup recovery codes set up.")
            }));
            if let Some(n) = f.ui.node_mut("lookup_secret") {
                n.attributes.remove("value");
            }
            Ok(None)
        }
    }
}

/// A settings submission's action: confirm beats reveal, then disable, then regenerate (a form
/// posts every button's value).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Confirm,
    Reveal,
    Disable,
    Regenerate,
}

impl Action {
    fn of(fields: &Fields) -> Option<Action> {
        let on = |k: &str| match fields.get(k) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        [
            ("lookup_secret_confirm", Action::Confirm),
            ("lookup_secret_reveal", Action::Reveal),
            ("lookup_secret_disable", Action::Disable),
            ("lookup_secret_regenerate", Action::Regenerate),
        ]
        .into_iter()
        .find(|(k, _)| on(k))
        .map(|(_, a)| a)
    }
}

/// Take this method's nodes off the form, keeping every other method's.
fn clear_nodes(f: &mut Flow) {
    f.ui.nodes.retain(|n| n.group != ID);
}

async fn update_settings(
    r: &Registry,
    f: &mut Flow,
    session: &Session,
    identity: &Identity,
    fields: &Fields,
) -> Result<Changed> {
    let Some(action) = Action::of(fields) else {
        f.ui.messages.push(Message::error(
            4010004,
            "Could not find a strategy to update your settings. Did you fill out the form correctly?",
        ));
        return Ok(Changed::Invalid);
    };
    if !is_privileged(r, session) {
        return Err(refresh_required(r, f));
    }
    let now = r.clock.now();
    match action {
        Action::Reveal => {
            let codes = stored(identity);
            if codes.is_empty() {
                f.ui.messages.push(text::generic_error(
                    "Can not reveal lookup codes because you have none.",
                ));
                return Ok(Changed::Invalid);
            }
            clear_nodes(f);
            f.ui.nodes.push(codes_node(&codes));
            f.ui.nodes.push(disable_button());
            f.ui.nodes.push(regenerate_button());
            f.internal
                .insert("lookup_secret_revealed".into(), json!(true));
            Ok(Changed::Shown)
        }
        Action::Regenerate => {
            let codes = new_codes();
            clear_nodes(f);
            f.ui.nodes.push(codes_node(&codes));
            f.ui.nodes.push(confirm_button());
            f.internal.insert(PENDING.into(), json!(codes));
            Ok(Changed::Shown)
        }
        Action::Confirm => confirm(r, f, session, identity).await,
        Action::Disable => {
            let mut updated = identity.clone();
            if updated.credentials.remove(ID).is_some() {
                updated.updated_at = now;
                r.sessions().update_identity(&updated).await?;
            }
            Ok(Changed::Saved(Box::new(updated)))
        }
    }
}

/// Store the codes this flow generated (all twelve, none used) and count them as a second factor
/// of the session that confirmed them.
async fn confirm(
    r: &Registry,
    f: &mut Flow,
    session: &Session,
    identity: &Identity,
) -> Result<Changed> {
    let now = r.clock.now();
    let pending: Vec<Code> = f
        .internal
        .get(PENDING)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    if pending.len() != CODES {
        f.ui.messages.push(text::generic_error(
            "You must (re-)generate recovery backup codes before you can save them.",
        ));
        return Ok(Changed::Invalid);
    }
    let mut updated = identity.clone();
    updated.credentials.insert(
        ID.into(),
        Credential {
            kind: ID.into(),
            identifiers: vec![identity.id.to_string()],
            config: json!({ "recovery_codes": pending }),
            version: 0,
            created_at: now,
            updated_at: now,
        },
    );
    updated.updated_at = now;
    r.sessions().update_identity(&updated).await?;
    f.internal.remove(PENDING);
    let method = AuthenticationMethod::second_factor(ID, now);
    r.sessions().add_method(session, method).await?;
    Ok(Changed::Saved(Box::new(updated)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn codes_are_twelve_of_eight_lowercase_alphanumerics() {
        let codes = new_codes();
        assert_eq!(codes.len(), 12);
        for c in &codes {
            assert_eq!(c.code.len(), 8);
            assert!(c.code.bytes().all(|b| ALPHABET.contains(&b)), "{}", c.code);
        }
        assert_ne!(codes[0], codes[1]);
    }

    #[test]
    fn go_time_strings() {
        let t = Utc.with_ymd_and_hms(2021, 8, 17, 11, 32, 39).unwrap();
        assert_eq!(go_time(t), "2021-08-17 11:32:39 +0000 UTC");
        let half = t + chrono::Duration::milliseconds(500);
        assert_eq!(go_time(half), "2021-08-17 11:32:39.5 +0000 UTC");
    }

    #[test]
    fn a_form_posting_every_button_confirms() {
        let all = json!({"lookup_secret_regenerate": "true", "lookup_secret_reveal": "true",
                         "lookup_secret_confirm": "true", "lookup_secret_disable": "true"});
        assert_eq!(Action::of(&all), Some(Action::Confirm));
        assert_eq!(
            Action::of(&json!({"lookup_secret_disable": true, "lookup_secret_regenerate": true})),
            Some(Action::Disable)
        );
        assert_eq!(Action::of(&json!({"lookup_secret_reveal": false})), None);
    }

    #[test]
    fn stored_codes_read_with_or_without_used_at() {
        let mut i = Identity::new("default", json!({}), Utc::now());
        i.credentials.insert(
            ID.into(),
            Credential {
                kind: ID.into(),
                identifiers: vec![],
                config: json!({"recovery_codes": [
                    {"code": "a"}, {"code": "b", "used_at": null},
                    {"code": "c", "used_at": "2021-08-17T11:32:39Z"}]}),
                version: 0,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            },
        );
        let codes = stored(&i);
        assert_eq!(codes.len(), 3);
        assert!(codes[0].used_at.is_none() && codes[1].used_at.is_none());
        assert_eq!(codes[2].used_at.unwrap().timestamp(), 1629199959);
    }
}
