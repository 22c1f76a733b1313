//! The WebAuthn ceremonies the `webauthn` and `passkey` methods share: the relying party from
//! their config, the options a browser passes to `navigator.credentials.create()` / `.get()` (in
//! the JSON shape Kratos sends, which the Ory UIs and `webauthn.js` read), the ceremony state kept
//! in the flow's internal context, and checking what the browser sends back. The checks
//! themselves (CBOR, COSE keys, signatures, challenge, origin, RP id hash, user presence) are
//! `webauthn-rs-core`'s.

use crate::error::{Error, Result};
use crate::identity::webauthn_keys::{flags_of_auth_data, key_from_attestation, StoredKey};
use crate::registry::Registry;
use crate::selfservice::flow::Flow;
use crate::selfservice::ui::Message;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::time::Duration;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticationState, AuthenticatorAttachment, COSEAlgorithm,
    PublicKeyCredential, RegisterPublicKeyCredential, RegistrationState, UserVerificationPolicy,
};
use webauthn_rs_core::WebauthnCore;

/// Which method's relying party: security keys (`webauthn`) or passkeys (`passkey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rp {
    Webauthn,
    Passkey,
}

impl Rp {
    fn id(self) -> &'static str {
        match self {
            Rp::Webauthn => "webauthn",
            Rp::Passkey => "passkey",
        }
    }

    /// Where a flow keeps this method's ceremony state.
    pub fn state_key(self) -> String {
        format!("{}_session_data", self.id())
    }

    /// Where a flow keeps the creation options it showed (reused until the ceremony ends).
    pub fn options_key(self) -> String {
        format!("{}_session_options", self.id())
    }

    fn timeout_ms(self) -> u64 {
        match self {
            Rp::Webauthn => 120_000,
            Rp::Passkey => 300_000,
        }
    }

    fn policy(self) -> UserVerificationPolicy {
        match self {
            // Kratos asks security keys for no user verification and never enforces it.
            Rp::Webauthn => UserVerificationPolicy::Discouraged_DO_NOT_USE,
            Rp::Passkey => UserVerificationPolicy::Preferred,
        }
    }

    fn policy_name(self) -> &'static str {
        match self {
            Rp::Webauthn => "discouraged",
            Rp::Passkey => "preferred",
        }
    }

    fn config(self, r: &Registry) -> &crate::config::RelyingParty {
        let m = &r.config.selfservice.methods;
        match self {
            Rp::Webauthn => &m.webauthn.config.rp,
            Rp::Passkey => &m.passkey.config.rp,
        }
    }
}

/// The page origins allowed for `rp`: `rp.origins`, else `rp.origin`, else the relying party's
/// domain under the public base URL's scheme (no port), as Kratos defaults them.
pub fn origins(r: &Registry, rp: Rp) -> Vec<String> {
    let c = rp.config(r);
    if !c.origins.is_empty() {
        return c.origins.clone();
    }
    if let Some(o) = c.origin.clone().filter(|o| !o.is_empty()) {
        return vec![o];
    }
    let scheme = url::Url::parse(&r.public_base)
        .map(|u| u.scheme().to_string())
        .unwrap_or_else(|_| "https".into());
    vec![format!("{scheme}://{}", c.id)]
}

fn relying_party(r: &Registry, rp: Rp) -> Result<WebauthnCore> {
    let c = rp.config(r);
    let origins = origins(r, rp)
        .iter()
        .map(|o| url::Url::parse(o))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::internal(format!("{}: rp.origins: {e}", rp.id())))?;
    Ok(WebauthnCore::new_unsafe_experts_only(
        &c.display_name,
        &c.id,
        origins,
        Duration::from_millis(rp.timeout_ms()),
        Some(false),
        Some(false),
    ))
}

/// The algorithms offered for new keys: those the verifier can check (ES256 first, which every
/// authenticator has).
const ALGORITHMS: [COSEAlgorithm; 3] = [
    COSEAlgorithm::ES256,
    COSEAlgorithm::ES384,
    COSEAlgorithm::RS256,
];

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A registration ceremony begun: the options for the browser and the state to keep.
pub struct Creation {
    pub options: Value,
    pub state: Value,
}

/// Begin registering a key for the user `user_id` (the handle the authenticator keeps) named
/// `user_name`.
pub fn start_registration(
    r: &Registry,
    rp: Rp,
    user_id: &[u8],
    user_name: &str,
) -> Result<Creation> {
    let core = relying_party(r, rp)?;
    let c = rp.config(r);
    let name = if user_name.is_empty() {
        c.display_name.as_str()
    } else {
        user_name
    };
    let name = if name.is_empty() { "user" } else { name };
    let builder = core
        .new_challenge_register_builder(user_id, name, name)
        .map_err(|e| Error::internal(format!("webauthn: {e}")))?
        .attestation(AttestationConveyancePreference::None)
        .user_verification_policy(rp.policy())
        .credential_algorithms(ALGORITHMS.to_vec())
        .require_resident_key(rp == Rp::Passkey)
        .authenticator_attachment((rp == Rp::Passkey).then_some(AuthenticatorAttachment::Platform));
    let (ccr, state) = core
        .generate_challenge_register(builder)
        .map_err(|e| Error::internal(format!("webauthn: {e}")))?;
    let challenge = serde_json::to_value(&ccr)
        .ok()
        .and_then(|v| v.pointer("/publicKey/challenge").cloned())
        .unwrap_or(Value::Null);
    let selection = match rp {
        Rp::Webauthn => json!({ "userVerification": "discouraged" }),
        Rp::Passkey => json!({
            "authenticatorAttachment": "platform",
            "requireResidentKey": true,
            "residentKey": "required",
            "userVerification": "preferred",
        }),
    };
    let params: Vec<Value> = ALGORITHMS
        .iter()
        .map(|a| json!({ "type": "public-key", "alg": *a as i64 }))
        .collect();
    let options = json!({ "publicKey": {
        "rp": { "name": c.display_name, "id": c.id },
        "user": { "name": name, "displayName": name, "id": b64url(user_id) },
        "challenge": challenge,
        "pubKeyCredParams": params,
        "timeout": rp.timeout_ms(),
        "authenticatorSelection": selection,
    }});
    Ok(Creation {
        options,
        state: serde_json::to_value(&state).unwrap_or(Value::Null),
    })
}

/// What became of a registration's answer: the new key, or the message to show on the flow.
pub type Finished<T> = std::result::Result<T, Message>;

fn unparsable(detail: &str) -> Message {
    Message::error(
        4000001,
        format!("Unable to parse WebAuthn response: {detail}"),
    )
}

/// Check a registration's answer (`response`, the JSON `webauthn.js` posts) against the state the
/// flow kept, and make the key to store.
pub fn finish_registration(
    r: &Registry,
    rp: Rp,
    f: &Flow,
    response: &str,
    display_name: String,
    is_passwordless: bool,
    now: DateTime<Utc>,
) -> Result<Finished<StoredKey>> {
    let reg: RegisterPublicKeyCredential = match serde_json::from_str(response) {
        Ok(reg) => reg,
        Err(_) => return Ok(Err(unparsable("Parse error for Registration"))),
    };
    if reg.type_ != "public-key" || reg.id.is_empty() {
        return Ok(Err(unparsable("Parse error for Registration")));
    }
    let Some(state) = state_of::<RegistrationState>(f, rp) else {
        return Ok(Err(not_begun()));
    };
    let core = relying_party(r, rp)?;
    if let Err(e) = core.register_credential(&reg, &state, None) {
        return Ok(Err(Message::error(
            4000001,
            format!("Unable to create WebAuthn credential: {e}"),
        )));
    }
    match key_from_attestation(
        &reg.response.attestation_object,
        display_name,
        is_passwordless,
        now,
    ) {
        Ok(key) => Ok(Ok(key)),
        Err(e) => Ok(Err(Message::error(
            4000001,
            format!("Unable to create WebAuthn credential: {e}"),
        ))),
    }
}

/// The ceremony state the flow keeps for `rp`, if it began one that has not ended.
fn state_of<T: serde::de::DeserializeOwned>(f: &Flow, rp: Rp) -> Option<T> {
    f.internal
        .get(&rp.state_key())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// 4000001: an answer to a ceremony this flow did not begin (or already ended).
pub fn not_begun() -> Message {
    Message::error(
        4000001,
        "This form did not ask for a security key or passkey, or its request was already answered. Please start again.",
    )
}

/// Begin a login: the request options naming `keys` (none: any discoverable passkey) and the
/// state to keep.
pub fn start_login(r: &Registry, rp: Rp, keys: &[StoredKey]) -> Result<Creation> {
    let core = relying_party(r, rp)?;
    let builder = core
        .new_challenge_authenticate_builder(Vec::new(), Some(rp.policy()))
        .map_err(|e| Error::internal(format!("webauthn: {e}")))?
        .allow_backup_eligible_upgrade(false);
    let (rcr, state) = core
        .generate_challenge_authenticate(builder)
        .map_err(|e| Error::internal(format!("webauthn: {e}")))?;
    let challenge = serde_json::to_value(&rcr)
        .ok()
        .and_then(|v| v.pointer("/publicKey/challenge").cloned())
        .unwrap_or(Value::Null);
    let mut public_key = serde_json::Map::new();
    public_key.insert("challenge".into(), challenge);
    public_key.insert("timeout".into(), json!(rp.timeout_ms()));
    public_key.insert("rpId".into(), json!(rp.config(r).id));
    if !keys.is_empty() {
        let allow: Vec<Value> = keys
            .iter()
            .map(|k| {
                let mut d = json!({ "type": "public-key", "id": k.id_b64url() });
                if let Some(t) = &k.transport {
                    d["transports"] = json!(t);
                }
                d
            })
            .collect();
        public_key.insert("allowCredentials".into(), Value::Array(allow));
    }
    public_key.insert("userVerification".into(), json!(rp.policy_name()));
    Ok(Creation {
        options: json!({ "publicKey": public_key }),
        state: serde_json::to_value(&state).unwrap_or(Value::Null),
    })
}

/// The creation options of a registration ceremony the flow began and has not finished.
fn pending_options(f: &Flow, rp: Rp) -> Option<Value> {
    f.internal
        .contains_key(&rp.state_key())
        .then(|| f.internal.get(&rp.options_key()).cloned())
        .flatten()
}

/// The creation options a form shows: those of a registration ceremony the flow began and has
/// not finished (a submission redraws the form before the key is checked, so the challenge must
/// stay), else a new ceremony's (`user_id`, `user_name`), kept in the flow.
pub fn creation_options(
    r: &Registry,
    f: &mut Flow,
    rp: Rp,
    user_id: &[u8],
    user_name: &str,
) -> Result<Value> {
    if let Some(options) = pending_options(f, rp) {
        return Ok(options);
    }
    let creation = start_registration(r, rp, user_id, user_name)?;
    f.internal.insert(rp.state_key(), creation.state);
    f.internal
        .insert(rp.options_key(), creation.options.clone());
    Ok(creation.options)
}

/// Forget a finished ceremony (the next form asks anew).
pub fn forget(f: &mut Flow, rp: Rp) {
    f.internal.remove(&rp.state_key());
    f.internal.remove(&rp.options_key());
}

/// The user handle the flow's creation options gave the authenticator.
pub fn options_user_handle(f: &Flow, rp: Rp) -> Option<Vec<u8>> {
    use base64::Engine;
    let options = f.internal.get(&rp.options_key())?;
    let id = options.pointer("/publicKey/user/id")?.as_str()?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .ok()
}

/// 4000001: a login answer that is not an assertion at all.
pub fn unparsable_assertion() -> Message {
    Message::error(4000001, "Unable to parse WebAuthn response.")
}

/// A login's answer as the browser sent it, or None when it is not an assertion at all.
pub fn parse_assertion(response: &str) -> Option<PublicKeyCredential> {
    let mut rsp: PublicKeyCredential = serde_json::from_str(response).ok()?;
    if rsp.type_ != "public-key" || rsp.id.is_empty() {
        return None;
    }
    // `webauthn.js` sends an empty user handle when the authenticator gave none.
    if rsp.response.user_handle.as_ref().is_some_and(Vec::is_empty) {
        rsp.response.user_handle = None;
    }
    Some(rsp)
}

/// Whether `rsp` is a valid signature over the flow's challenge by one of `keys`, from an
/// allowed origin, for this relying party (false too when the flow began no such ceremony).
pub fn verify_login(
    r: &Registry,
    rp: Rp,
    f: &Flow,
    rsp: &PublicKeyCredential,
    keys: &[StoredKey],
) -> Result<bool> {
    let Some(mut state) = state_of::<AuthenticationState>(f, rp) else {
        return Ok(false);
    };
    let response_flags = flags_of_auth_data(&rsp.response.authenticator_data);
    let usable = keys
        .iter()
        .filter_map(|k| k.to_core(response_flags))
        .collect();
    state.set_allowed_credentials(usable);
    let core = relying_party(r, rp)?;
    Ok(core.authenticate_credential(rsp, &state).is_ok())
}

/// 4000008, said of every assertion that does not verify.
pub fn invalid_assertion() -> Message {
    Message::error(
        4000008,
        "The provided authentication code is invalid, please try again.",
    )
}

/// 4000015: no such account, or no key for it.
pub fn no_such_account() -> Message {
    Message::error(
        4000015,
        "This account does not exist or has no security key set up.",
    )
}

/// 4000009: a key without a login identifier to find its account by.
pub fn no_identifiers() -> Message {
    Message::error(
        4000009,
        "Could not find any login identifiers. Did you forget to set them? This could also be caused by a server misconfiguration.",
    )
}

/// The label context of a remove button: the key's name and when it was added.
pub fn remove_context(key: &StoredKey) -> (String, Value) {
    let name = if key.display_name.is_empty() {
        "unnamed".to_string()
    } else {
        key.display_name.clone()
    };
    let ctx = json!({
        "display_name": name,
        "added_at": key.added_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "added_at_unix": key.added_at.timestamp(),
    });
    (name, ctx)
}

/// 4000001 on the remove buttons: removing this key would leave no way to sign in (on a text
/// node of that name when the form has no such button, as Kratos does).
pub fn lockout(f: &mut Flow, node: &str) {
    let reason = "unable to remove this security key because it would lock you out of your account";
    let m = Message::error(4000001, reason).with_context(json!({ "reason": reason }));
    if f.ui.node_mut(node).is_none() {
        f.ui.nodes
            .push(crate::selfservice::ui::Node::input("default", node, "text"));
    }
    f.ui.add_node_message(node, m);
}
