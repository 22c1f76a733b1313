//! Navigating the embedded Kratos configuration JSON Schema (and the `ostiary` extension schema):
//! `$ref` resolution, flattening of `allOf`/`anyOf`/`oneOf`, and key/item lookups.
//!
//! The lookups here deliberately take the *union* of all branches of a schema: a key is known
//! if any branch declares it. That is what key checking and environment mapping need; the
//! branch-by-branch evaluation of values lives in `types.rs`.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use super::pattern::Pattern;

/// The Kratos configuration schema, exactly as Kratos ships it.
const KRATOS_SCHEMA_TEXT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/schemas/kratos-config.schema.json"
));

/// The only external `$ref` in the Kratos schema (`tracing`); Kratos resolves it to a schema
/// embedded in its libraries, which is not part of the copied file.
const TRACING_REF: &str = "ory://tracing-config";

/// How deep `$ref`/combinator chains are followed before giving up (guards against cycles).
const MAX_EXPANSION_DEPTH: usize = 64;

/// A schema that allows anything (`true`).
static OPEN: Value = Value::Bool(true);

/// The parsed Kratos configuration schema.
pub(crate) fn kratos_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(KRATOS_SCHEMA_TEXT)
            .expect("the embedded Kratos configuration schema is valid JSON")
    })
}

/// A stand-in for the tracing schema that `tracing` refers to (`ory://tracing-config`).
///
/// Written from the documented tracing keys so that `TRACING_PROVIDER`,
/// `TRACING_SERVICE_NAME`, `TRACING_PROVIDERS_OTLP_SERVER_URL`, … map and cast correctly. Every
/// object is left open (`additionalProperties: true`) because the real tracing schema changes
/// between library versions and is not available here to check against.
fn tracing_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let sampling = |ratio_key: &str| {
            let mut props = Map::new();
            props.insert(ratio_key.to_owned(), json!({ "type": "number" }));
            json!({ "type": "object", "additionalProperties": true, "properties": props })
        };
        json!({
            "type": "object",
            "additionalProperties": true,
            "properties": {
                "provider": { "type": "string" },
                "service_name": { "type": "string" },
                "deployment_environment": { "type": "string" },
                "providers": {
                    "type": "object",
                    "additionalProperties": true,
                    "properties": {
                        "jaeger": {
                            "type": "object",
                            "additionalProperties": true,
                            "properties": {
                                "local_agent_address": { "type": "string" },
                                "sampling": {
                                    "type": "object",
                                    "additionalProperties": true,
                                    "properties": {
                                        "server_url": { "type": "string" },
                                        "trace_id_ratio": { "type": "number" }
                                    }
                                }
                            }
                        },
                        "zipkin": {
                            "type": "object",
                            "additionalProperties": true,
                            "properties": {
                                "server_url": { "type": "string" },
                                "sampling": sampling("sampling_ratio")
                            }
                        },
                        "otlp": {
                            "type": "object",
                            "additionalProperties": true,
                            "properties": {
                                "server_url": { "type": "string" },
                                "insecure": { "type": "boolean" },
                                "authorization_header": { "type": "string" },
                                "sampling": sampling("sampling_ratio")
                            }
                        }
                    }
                }
            }
        })
    })
}

/// A schema node together with the document its `$ref`s resolve against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    pub(crate) root: &'a Value,
    pub(crate) schema: &'a Value,
}

impl<'a> Node<'a> {
    /// The root of a schema document.
    pub(crate) fn root(document: &'a Value) -> Node<'a> {
        Node {
            root: document,
            schema: document,
        }
    }

    /// The Kratos schema's root.
    pub(crate) fn kratos() -> Node<'static> {
        Node::root(kratos_schema())
    }

    /// A node that allows anything.
    pub(crate) fn open() -> Node<'static> {
        Node::root(&OPEN)
    }

    /// A sub-schema of the same document.
    pub(crate) fn child(&self, schema: &'a Value) -> Node<'a> {
        Node {
            root: self.root,
            schema,
        }
    }

    /// The schema as a JSON object, if it is one (boolean schemas are not).
    pub(crate) fn obj(&self) -> Option<&'a Map<String, Value>> {
        self.schema.as_object()
    }

    /// A keyword of this schema.
    pub(crate) fn get(&self, keyword: &str) -> Option<&'a Value> {
        self.obj().and_then(|o| o.get(keyword))
    }

    /// True for the boolean schema `false`, which allows nothing.
    pub(crate) fn is_false(&self) -> bool {
        self.schema == &Value::Bool(false)
    }

    /// The target of this node's `$ref`, if it has one. Local references (`#/...`) resolve
    /// within the node's document; the tracing reference resolves to the built-in stand-in;
    /// anything else unresolvable is treated as a schema that allows anything.
    pub(crate) fn resolve_ref(&self) -> Option<Node<'a>> {
        let reference = self.get("$ref")?.as_str()?;
        if let Some(pointer) = reference.strip_prefix('#') {
            return Some(match self.root.pointer(pointer) {
                Some(target) => self.child(target),
                None => Node::open(),
            });
        }
        if reference == TRACING_REF {
            return Some(Node::root(tracing_schema()));
        }
        Some(Node::open())
    }
}

/// Flattens a set of nodes into every node it is made of: the nodes themselves, their `$ref`
/// targets and the members of `allOf`/`anyOf`/`oneOf`, recursively. `if`/`then`/`else` and `not`
/// are not followed: they constrain values, they do not declare keys.
pub(crate) fn expand<'a>(set: &[Node<'a>]) -> Vec<Node<'a>> {
    expand_for(set, None)
}

/// Like [`expand`], but when `value` is given, `anyOf`/`oneOf` members that `value` clearly does
/// not match are left out: a member is dropped when one of its properties has a `const`/`enum`
/// that the value's property contradicts (e.g. a hook object with `hook: web_hook` is not the
/// `b2b_sso` hook). If that would drop every member, all are kept.
pub(crate) fn expand_for<'a>(set: &[Node<'a>], value: Option<&Value>) -> Vec<Node<'a>> {
    let mut out: Vec<Node<'a>> = Vec::new();
    let mut stack: Vec<(Node<'a>, usize)> = set.iter().rev().map(|n| (*n, 0)).collect();
    while let Some((node, depth)) = stack.pop() {
        if out
            .iter()
            .any(|seen| std::ptr::eq(seen.schema, node.schema))
        {
            continue;
        }
        out.push(node);
        if depth >= MAX_EXPANSION_DEPTH {
            continue;
        }
        let mut children = Vec::new();
        if let Some(target) = node.resolve_ref() {
            children.push(target);
        }
        if let Some(Value::Array(members)) = node.get("allOf") {
            children.extend(members.iter().map(|m| node.child(m)));
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(Value::Array(members)) = node.get(keyword) {
                let all: Vec<Node<'a>> = members.iter().map(|m| node.child(m)).collect();
                let compatible: Vec<Node<'a>> = match value {
                    Some(v) => all
                        .iter()
                        .copied()
                        .filter(|m| branch_compatible(*m, v))
                        .collect(),
                    None => Vec::new(),
                };
                children.extend(if compatible.is_empty() {
                    all
                } else {
                    compatible
                });
            }
        }
        stack.extend(children.into_iter().rev().map(|c| (c, depth + 1)));
    }
    out
}

/// False if `value` (an object) has a property whose value contradicts a `const`/`enum` that
/// `branch` (or what it is made of via `$ref`/`allOf`, not its own alternatives) declares.
fn branch_compatible(branch: Node<'_>, value: &Value) -> bool {
    let Value::Object(map) = value else {
        return true;
    };
    conjuncts(branch).iter().all(|part| {
        let Some(props) = part.get("properties").and_then(Value::as_object) else {
            return true;
        };
        props.iter().all(|(key, schema)| {
            let Some(actual) = map.get(key) else {
                return true;
            };
            conjuncts(part.child(schema)).iter().all(|p| {
                let const_ok = p.get("const").is_none_or(|c| c == actual);
                let enum_ok = match p.get("enum") {
                    Some(Value::Array(allowed)) => allowed.contains(actual),
                    _ => true,
                };
                const_ok && enum_ok
            })
        })
    })
}

/// A node plus everything it must also satisfy: `$ref` targets and `allOf` members.
fn conjuncts<'a>(node: Node<'a>) -> Vec<Node<'a>> {
    let mut out: Vec<Node<'a>> = Vec::new();
    let mut stack = vec![(node, 0usize)];
    while let Some((n, depth)) = stack.pop() {
        if out.iter().any(|seen| std::ptr::eq(seen.schema, n.schema)) || depth > MAX_EXPANSION_DEPTH
        {
            continue;
        }
        out.push(n);
        if let Some(target) = n.resolve_ref() {
            stack.push((target, depth + 1));
        }
        if let Some(Value::Array(members)) = n.get("allOf") {
            stack.extend(members.iter().map(|m| (n.child(m), depth + 1)));
        }
    }
    out
}

/// What a schema says about one key of an object value.
#[derive(Debug)]
pub(crate) enum KeyLookup<'a> {
    /// The key is declared (by `properties`, a matching `patternProperties` or an
    /// `additionalProperties` schema); these are its schemas (a union).
    Known(Vec<Node<'a>>),
    /// The object is free-form here; nothing is known about the key, anything goes below it.
    Open,
    /// The schema does not allow this key.
    Rejected,
}

/// Looks `key` of the object value `object` up in the object schema(s) `set`.
///
/// Policy for objects that list `properties` but say nothing about `additionalProperties`:
/// they are treated as closed (the key is rejected). JSON Schema would leave them open, but a
/// schema that enumerates its keys is a strong sign that any other key is a typo. Objects are
/// open only where some branch says `additionalProperties: true` (or gives a schema), or where
/// no branch declares any keys at all (`{"type": "object"}`, `{}`, `true`).
pub(crate) fn lookup_key<'a>(set: &[Node<'a>], object: &Value, key: &str) -> KeyLookup<'a> {
    let parts = expand_for(set, Some(object));

    let mut declared = false;
    let mut children = Vec::new();
    for part in &parts {
        if let Some(schema) = part
            .get("properties")
            .and_then(Value::as_object)
            .and_then(|p| p.get(key))
        {
            declared = true;
            let child = part.child(schema);
            if !child.is_false() {
                children.push(child);
            }
        }
    }
    if !declared {
        for part in &parts {
            let Some(patterns) = part.get("patternProperties").and_then(Value::as_object) else {
                continue;
            };
            for (pattern, schema) in patterns {
                // A pattern outside the supported regex subset is assumed to match.
                let matches = Pattern::new(pattern).is_none_or(|p| p.is_match(key));
                if matches {
                    declared = true;
                    let child = part.child(schema);
                    if !child.is_false() {
                        children.push(child);
                    }
                }
            }
        }
    }
    if declared {
        return if children.is_empty() {
            KeyLookup::Rejected
        } else {
            KeyLookup::Known(children)
        };
    }

    let mut open = false;
    let mut closed = false;
    for part in &parts {
        if part.is_false() {
            closed = true;
            continue;
        }
        match part.get("additionalProperties") {
            Some(Value::Bool(true)) => open = true,
            Some(Value::Bool(false)) => closed = true,
            Some(schema @ Value::Object(_)) => children.push(part.child(schema)),
            Some(_) => {}
            None => {
                if part.get("properties").is_some() || part.get("patternProperties").is_some() {
                    closed = true;
                }
            }
        }
    }
    if open {
        KeyLookup::Open
    } else if !children.is_empty() {
        KeyLookup::Known(children)
    } else if closed {
        KeyLookup::Rejected
    } else {
        KeyLookup::Open
    }
}

/// Every property name declared in `set` (through all branches), with its schemas. Properties
/// whose schema is `false` are left out: they exist only to be forbidden.
pub(crate) fn declared_properties<'a>(set: &[Node<'a>]) -> Vec<(&'a str, Vec<Node<'a>>)> {
    let mut out: Vec<(&'a str, Vec<Node<'a>>)> = Vec::new();
    for part in expand(set) {
        let Some(props) = part.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (name, schema) in props {
            let child = part.child(schema);
            if child.is_false() {
                continue;
            }
            match out.iter_mut().find(|(n, _)| *n == name.as_str()) {
                Some((_, schemas)) => schemas.push(child),
                None => out.push((name.as_str(), vec![child])),
            }
        }
    }
    out
}

/// The schemas of array element `index` in `set`, or `None` if no branch describes items.
pub(crate) fn item_schemas<'a>(set: &[Node<'a>], index: usize) -> Option<Vec<Node<'a>>> {
    let mut found = false;
    let mut out = Vec::new();
    for part in expand(set) {
        match part.get("items") {
            Some(Value::Array(tuple)) => {
                found = true;
                match tuple.get(index) {
                    Some(schema) => out.push(part.child(schema)),
                    None => match part.get("additionalItems") {
                        Some(schema) => out.push(part.child(schema)),
                        None => out.push(Node::open()),
                    },
                }
            }
            Some(schema) => {
                found = true;
                out.push(part.child(schema));
            }
            None => {}
        }
    }
    found.then_some(out)
}

/// The JSON types `set` admits, from `type` keywords across all branches; when no branch has a
/// `type`, inferred from `const`/`enum` values. Empty means "unknown / anything".
pub(crate) fn declared_types(set: &[Node<'_>]) -> Vec<String> {
    fn add(types: &mut Vec<String>, t: &str) {
        if !types.iter().any(|x| x == t) {
            types.push(t.to_owned());
        }
    }
    let parts = expand(set);
    let mut types: Vec<String> = Vec::new();
    for part in &parts {
        match part.get("type") {
            Some(Value::String(t)) => add(&mut types, t),
            Some(Value::Array(ts)) => {
                for t in ts.iter().filter_map(Value::as_str) {
                    add(&mut types, t);
                }
            }
            _ => {}
        }
    }
    if types.is_empty() {
        for part in &parts {
            let mut values: Vec<&Value> = Vec::new();
            if let Some(c) = part.get("const") {
                values.push(c);
            }
            if let Some(Value::Array(e)) = part.get("enum") {
                values.extend(e);
            }
            for v in values {
                add(&mut types, json_kind(v));
            }
        }
    }
    types
}

/// The JSON Schema type name of a value (`integer` for whole numbers).
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A dotted key path, built segment by segment while walking a configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// Renders a path as `a.b.0.c`.
pub(crate) fn dotted(path: &[Segment]) -> String {
    path.iter()
        .map(|s| match s {
            Segment::Key(k) => k.clone(),
            Segment::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}
