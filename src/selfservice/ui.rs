//! The UI container every flow carries: `action`, `method`, `nodes` (inputs with groups, labels and
//! messages) and flow-level `messages`, shaped exactly as Kratos's.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A UI text with Kratos's numeric id (see [`super::text`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: u32,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

impl Message {
    pub fn info(id: u32, text: impl Into<String>) -> Message {
        Message {
            id,
            text: text.into(),
            kind: "info".into(),
            context: None,
        }
    }
    pub fn success(id: u32, text: impl Into<String>) -> Message {
        Message {
            id,
            text: text.into(),
            kind: "success".into(),
            context: None,
        }
    }
    pub fn error(id: u32, text: impl Into<String>) -> Message {
        Message {
            id,
            text: text.into(),
            kind: "error".into(),
            context: None,
        }
    }
    pub fn with_context(mut self, context: Value) -> Message {
        self.context = Some(context);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    #[serde(rename = "type")]
    pub kind: String,
    pub group: String,
    pub attributes: Map<String, Value>,
    pub messages: Vec<Message>,
    pub meta: Map<String, Value>,
}

impl Node {
    fn of(kind: &str, group: &str, attributes: Map<String, Value>) -> Node {
        Node {
            kind: kind.into(),
            group: group.into(),
            attributes,
            messages: Vec::new(),
            meta: Map::new(),
        }
    }

    /// An `<input>` node.
    pub fn input(group: &str, name: &str, input_type: &str) -> Node {
        let mut attributes = Map::new();
        attributes.insert("name".into(), json!(name));
        attributes.insert("type".into(), json!(input_type));
        attributes.insert("disabled".into(), json!(false));
        attributes.insert("node_type".into(), json!("input"));
        Node::of("input", group, attributes)
    }
    /// An `<img>` node (a QR code).
    pub fn image(group: &str, id: &str, src: &str, width: u32, height: u32) -> Node {
        let mut attributes = Map::new();
        attributes.insert("src".into(), json!(src));
        attributes.insert("id".into(), json!(id));
        attributes.insert("width".into(), json!(width));
        attributes.insert("height".into(), json!(height));
        attributes.insert("node_type".into(), json!("img"));
        Node::of("img", group, attributes)
    }
    /// A text node (a secret to copy, codes to write down).
    pub fn text(group: &str, id: &str, text: Message) -> Node {
        let mut attributes = Map::new();
        attributes.insert(
            "text".into(),
            serde_json::to_value(text).unwrap_or(Value::Null),
        );
        attributes.insert("id".into(), json!(id));
        attributes.insert("node_type".into(), json!("text"));
        Node::of("text", group, attributes)
    }
    /// A `<script>` node (attributes filled in by its maker).
    pub fn script(group: &str, id: &str) -> Node {
        let mut attributes = Map::new();
        attributes.insert("id".into(), json!(id));
        attributes.insert("node_type".into(), json!("script"));
        Node::of("script", group, attributes)
    }
    pub fn required(mut self) -> Node {
        self.attributes.insert("required".into(), json!(true));
        self
    }
    pub fn value(mut self, v: impl Into<Value>) -> Node {
        self.attributes.insert("value".into(), v.into());
        self
    }
    pub fn attr(mut self, k: &str, v: impl Into<Value>) -> Node {
        self.attributes.insert(k.into(), v.into());
        self
    }
    pub fn label(mut self, m: Message) -> Node {
        self.meta.insert(
            "label".into(),
            serde_json::to_value(m).unwrap_or(Value::Null),
        );
        self
    }
    pub fn name(&self) -> &str {
        self.attributes
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    /// Keep attribute order stable: name, type, value, required, autocomplete, …, disabled, node_type.
    fn ordered(&self) -> Map<String, Value> {
        if self.kind != "input" {
            return self.attributes.clone();
        }
        let order = [
            "name",
            "type",
            "value",
            "required",
            "autocomplete",
            "pattern",
            "maxlength",
            "disabled",
            "onclick",
            "onclickTrigger",
            "onload",
            "onloadTrigger",
            "node_type",
        ];
        let mut out = Map::new();
        for k in order {
            if let Some(v) = self.attributes.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
        for (k, v) in &self.attributes {
            if !out.contains_key(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Container {
    pub action: String,
    pub method: String,
    pub nodes: Vec<Node>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

impl Container {
    pub fn new(action: String) -> Container {
        Container {
            action,
            method: "POST".into(),
            nodes: Vec::new(),
            messages: Vec::new(),
        }
    }

    pub fn node_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.name() == name)
    }

    /// Set a node's value, if the node exists.
    pub fn set_value(&mut self, name: &str, v: impl Into<Value>) {
        if let Some(n) = self.node_mut(name) {
            n.attributes.insert("value".into(), v.into());
        }
    }

    /// Attach a message to a node, or to the flow when no node has that name.
    pub fn add_node_message(&mut self, name: &str, m: Message) {
        match self.node_mut(name) {
            Some(n) => n.messages.push(m),
            None => self.messages.push(m),
        }
    }

    /// Drop messages from an earlier attempt.
    pub fn reset_messages(&mut self) {
        self.messages.clear();
        for n in &mut self.nodes {
            n.messages.clear();
        }
    }

    /// Never echo secrets back: clear the value of every password input.
    pub fn clear_secrets(&mut self) {
        for n in &mut self.nodes {
            if n.attributes.get("type").and_then(Value::as_str) == Some("password") {
                n.attributes.remove("value");
            }
        }
    }

    /// The wire JSON, with the CSRF node's value set to `csrf` (empty for native flows).
    pub fn to_json(&self, csrf: &str) -> Value {
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .map(|n| {
                let mut attrs = n.ordered();
                if n.name() == "csrf_token" {
                    attrs.insert("value".into(), json!(csrf));
                    let mut reordered = Map::new();
                    for k in ["name", "type", "value", "required", "disabled", "node_type"] {
                        if let Some(v) = attrs.get(k) {
                            reordered.insert(k.into(), v.clone());
                        }
                    }
                    attrs = reordered;
                }
                json!({"type": n.kind, "group": n.group, "attributes": attrs, "messages": n.messages, "meta": n.meta})
            })
            .collect();
        let mut m = Map::new();
        m.insert("action".into(), json!(self.action));
        m.insert("method".into(), json!(self.method));
        m.insert("nodes".into(), Value::Array(nodes));
        if !self.messages.is_empty() {
            m.insert(
                "messages".into(),
                serde_json::to_value(&self.messages).unwrap_or(Value::Null),
            );
        }
        Value::Object(m)
    }
}

/// Input nodes for every leaf trait of an identity schema (`traits.email`, `traits.name.first`, …),
/// typed from the JSON Schema `type`/`format`, required where the schema says so, labelled by title.
pub fn trait_nodes(schema: &Value, group: &str) -> Vec<Node> {
    let mut out = Vec::new();
    if let Some(traits) = schema.pointer("/properties/traits") {
        walk(traits, "traits", false, group, &mut out, 0);
    }
    out
}

fn walk(node: &Value, name: &str, required: bool, group: &str, out: &mut Vec<Node>, depth: usize) {
    if depth > 16 {
        return;
    }
    let ty = node.get("type").and_then(Value::as_str).unwrap_or("string");
    if ty == "object" {
        let req: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (k, child) in props {
                walk(
                    child,
                    &format!("{name}.{k}"),
                    req.contains(&k.as_str()),
                    group,
                    out,
                    depth + 1,
                );
            }
        }
        return;
    }
    if ty == "array" {
        return;
    }
    let format = node.get("format").and_then(Value::as_str);
    let input_type = match (ty, format) {
        ("number" | "integer", _) => "number",
        ("boolean", _) => "checkbox",
        (_, Some("email")) => "email",
        (_, Some("tel")) => "tel",
        (_, Some("date")) => "date",
        (_, Some("date-time")) => "datetime-local",
        (_, Some("uri" | "url")) => "url",
        _ => "text",
    };
    let mut n = Node::input(group, name, input_type);
    if required {
        n = n.required();
    }
    if format == Some("email") {
        n = n.attr("autocomplete", "email");
    }
    if let Some(title) = node.get("title").and_then(Value::as_str) {
        n = n.label(Message::info(1070002, title).with_context(json!({"title": title})));
    }
    out.push(n);
}
