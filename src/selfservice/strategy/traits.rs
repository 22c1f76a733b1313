//! The traits a registration submission carries, checked against the default identity schema
//! (every method that registers reads them the same way).

use super::Fields;
use crate::registry::Registry;
use crate::selfservice::flow::Flow;
use crate::selfservice::ui::{trait_nodes, Message};
use serde_json::{json, Value};

/// The submitted traits, put back into their nodes; None (with the messages on the nodes) when
/// the schema refuses them.
pub fn from_submission(r: &Registry, f: &mut Flow, fields: &Fields) -> Option<Value> {
    let traits = fields.get("traits").cloned().unwrap_or_else(|| json!({}));
    refill(f, &traits, "traits");
    let schema = r.schemas.default_schema();
    if let Err(errors) = schema.validate_traits(&traits) {
        for e in errors {
            let msg = Message::error(e.message_id, e.text.clone()).with_context(e.context.clone());
            f.ui.add_node_message(&e.node_name(), msg);
        }
        return None;
    }
    Some(traits)
}

/// Put the submitted trait values back into their nodes (so the form keeps what was typed).
pub fn refill(f: &mut Flow, traits: &Value, prefix: &str) {
    if let Value::Object(map) = traits {
        for (k, v) in map {
            let name = format!("{prefix}.{k}");
            match v {
                Value::Object(_) => refill(f, v, &name),
                other => f.ui.set_value(&name, other.clone()),
            }
        }
    }
}

/// Add the default schema's trait nodes to a registration flow, unless another method did.
pub fn ensure_nodes(r: &Registry, f: &mut Flow) {
    if f.ui.nodes.iter().any(|n| n.name().starts_with("traits.")) {
        return;
    }
    let schema = r.schemas.default_schema();
    f.ui.nodes.extend(trait_nodes(&schema.raw, "default"));
}
