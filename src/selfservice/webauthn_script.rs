//! `/.well-known/ory/webauthn.js`: the script that runs the WebAuthn and passkey ceremonies in a
//! browser, and the `script` node that loads it (with a subresource-integrity hash of exactly the
//! bytes served, so a page refuses any other script under that name).

use crate::registry::Registry;
use crate::selfservice::ui::Node;
use serde_json::json;
use std::sync::OnceLock;

/// The script, as served.
pub const SOURCE: &str = include_str!("../../assets/webauthn.js");

/// `sha512-<base64>` of [`SOURCE`].
pub fn integrity() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        use base64::Engine;
        use sha2::Digest;
        let digest = sha2::Sha512::digest(SOURCE.as_bytes());
        format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    })
}

/// The node that loads the script (group `webauthn` for both methods, id `webauthn_script`).
pub fn node(r: &Registry) -> Node {
    let mut n = Node::script("webauthn", "webauthn_script");
    let a = &mut n.attributes;
    a.clear();
    a.insert(
        "src".into(),
        json!(format!("{}/.well-known/ory/webauthn.js", r.public_base)),
    );
    a.insert("async".into(), json!(true));
    a.insert("referrerpolicy".into(), json!("no-referrer"));
    a.insert("crossorigin".into(), json!("anonymous"));
    a.insert("integrity".into(), json!(integrity()));
    a.insert("type".into(), json!("text/javascript"));
    a.insert("id".into(), json!("webauthn_script"));
    a.insert("nonce".into(), json!(uuid::Uuid::new_v4().to_string()));
    a.insert("node_type".into(), json!("script"));
    n
}

/// Add the script node to a flow unless it is there already (both methods want it).
pub fn ensure(r: &Registry, nodes: &mut Vec<Node>) {
    if !nodes
        .iter()
        .any(|n| n.kind == "script" && n.attributes.get("id") == Some(&json!("webauthn_script")))
    {
        nodes.push(node(r));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_integrity_is_the_sha512_of_the_served_bytes() {
        let i = super::integrity();
        assert!(i.starts_with("sha512-"));
        assert_eq!(i.len(), "sha512-".len() + 88);
    }
}
