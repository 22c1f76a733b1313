//! Light value checking against the schema at each key: `type`, `const`, `enum`, numeric
//! bounds, string length, `pattern` and array length, through `$ref`/`allOf`/`anyOf`/`oneOf`.
//!
//! Deliberately not evaluated: `required`, `format`, `not`, `if`/`then`/`else`,
//! `uniqueItems`, `propertyNames`, `dependencies`; `oneOf` is treated like `anyOf` (a value is
//! fine if it matches any branch). Unknown keys are skipped here: that is `check_keys`'s job.

use serde_json::Value;

use super::env::EXTENSION_KEY;
use super::error::ConfigError;
use super::pattern::Pattern;
use super::schema::{dotted, json_kind, Node, Segment};

/// How deep schemas are followed before a value is accepted unchecked (guards `$ref` cycles).
const MAX_DEPTH: usize = 128;

/// Checks every value in `config` against the Kratos schema at its key path. The `ostiary`
/// section is not checked (see [`check_types_with_extension`]).
pub fn check_types(config: &Value) -> Result<(), ConfigError> {
    check_types_with_extension(config, &Value::Bool(true))
}

/// Like [`check_types`], and also checks the `ostiary` section against `extension_schema`.
pub fn check_types_with_extension(
    config: &Value,
    extension_schema: &Value,
) -> Result<(), ConfigError> {
    let Value::Object(root) = config else {
        if config.is_null() {
            return Ok(());
        }
        return Err(ConfigError::InvalidValue {
            path: "(root)".to_owned(),
            reason: format!(
                "the configuration must be a mapping of keys, found {}",
                json_kind(config)
            ),
        });
    };
    let kratos = Node::kratos();
    let properties = kratos.get("properties").and_then(Value::as_object);
    let mut path = Vec::new();
    for (key, value) in root {
        let node = match properties.and_then(|p| p.get(key)) {
            Some(schema) => kratos.child(schema),
            None if key == EXTENSION_KEY => Node::root(extension_schema),
            None => continue,
        };
        path.push(Segment::Key(key.clone()));
        validate(node, value, &mut path, 0).map_err(|f| ConfigError::InvalidValue {
            path: dotted(&f.path),
            reason: f.reason.render(),
        })?;
        path.pop();
    }
    Ok(())
}

/// Why a value failed, kept structured so that failures of alternative branches can be merged.
#[derive(Debug, Clone)]
enum Reason {
    /// The value is not one of the allowed constants.
    NotOneOf {
        allowed: Vec<Value>,
        got: Value,
    },
    Other(String),
}

impl Reason {
    fn render(&self) -> String {
        match self {
            Reason::NotOneOf { allowed, got } => {
                let list: Vec<String> = allowed.iter().map(short).collect();
                if list.len() == 1 {
                    format!("must be {}, got {}", list[0], short(got))
                } else {
                    format!("must be one of {}; got {}", list.join(", "), short(got))
                }
            }
            Reason::Other(text) => text.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct Failure {
    path: Vec<Segment>,
    reason: Reason,
}

fn fail(path: &[Segment], reason: String) -> Result<(), Failure> {
    Err(Failure {
        path: path.to_vec(),
        reason: Reason::Other(reason),
    })
}

fn validate(
    node: Node<'_>,
    value: &Value,
    path: &mut Vec<Segment>,
    depth: usize,
) -> Result<(), Failure> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let schema = match node.schema {
        Value::Object(o) => o,
        Value::Bool(false) => return fail(path, "no value is allowed here".to_owned()),
        _ => return Ok(()),
    };
    if let Some(target) = node.resolve_ref() {
        validate(target, value, path, depth + 1)?;
    }

    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !types.is_empty() && !types.iter().any(|t| type_matches(t, value)) {
            return fail(
                path,
                format!(
                    "expected {}, got {} {}",
                    types.join(" or "),
                    json_kind(value),
                    short(value)
                ),
            );
        }
    }
    if let Some(c) = schema.get("const") {
        if !json_eq(c, value) {
            return not_one_of(path, vec![c.clone()], value);
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.iter().any(|a| json_eq(a, value)) {
            return not_one_of(path, allowed.clone(), value);
        }
    }

    match value {
        Value::Number(n) => check_number(schema, n.as_f64().unwrap_or(f64::NAN), path)?,
        Value::String(s) => check_string(schema, s, path)?,
        Value::Array(items) => check_array(node, items, path, depth)?,
        Value::Object(map) => {
            for (key, child) in map {
                path.push(Segment::Key(key.clone()));
                for child_node in property_schemas(node, key) {
                    validate(child_node, child, path, depth + 1)?;
                }
                path.pop();
            }
        }
        _ => {}
    }

    if let Some(Value::Array(all)) = schema.get("allOf") {
        for member in all {
            validate(node.child(member), value, path, depth + 1)?;
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(keyword) {
            any_branch(node, branches, value, path, depth)?;
        }
    }
    Ok(())
}

fn not_one_of(path: &[Segment], allowed: Vec<Value>, got: &Value) -> Result<(), Failure> {
    Err(Failure {
        path: path.to_vec(),
        reason: Reason::NotOneOf {
            allowed,
            got: got.clone(),
        },
    })
}

/// Passes if any branch passes. Otherwise reports the failure(s) that got deepest into the
/// value, since the branch that matched furthest is most likely the one the author meant;
/// failures of several branches at that same spot are merged into one reason.
fn any_branch(
    node: Node<'_>,
    branches: &[Value],
    value: &Value,
    path: &mut Vec<Segment>,
    depth: usize,
) -> Result<(), Failure> {
    let mut failures = Vec::new();
    let depth_of_path = path.len();
    for branch in branches {
        let result = validate(node.child(branch), value, path, depth + 1);
        // A failed branch returns early and may leave segments pushed.
        path.truncate(depth_of_path);
        match result {
            Ok(()) => return Ok(()),
            Err(f) => failures.push(f),
        }
    }
    let Some(deepest) = failures.iter().map(|f| f.path.len()).max() else {
        return Ok(());
    };
    let at_deepest: Vec<Failure> = failures
        .into_iter()
        .filter(|f| f.path.len() == deepest)
        .collect();
    let path_of_failure = at_deepest[0].path.clone();
    if at_deepest.iter().any(|f| f.path != path_of_failure) {
        // Branches failed at different keys (e.g. mutually exclusive flags): report at the
        // alternative's own key, listing each branch's complaint.
        let mut complaints: Vec<String> = Vec::new();
        for failure in &at_deepest {
            let relative = dotted(failure.path.get(path.len()..).unwrap_or_default());
            let text = if relative.is_empty() {
                failure.reason.render()
            } else {
                format!("`{relative}` {}", failure.reason.render())
            };
            if !complaints.contains(&text) {
                complaints.push(text);
            }
        }
        return Err(Failure {
            path: path.clone(),
            reason: Reason::Other(format!(
                "matches none of the allowed alternatives: {}",
                complaints.join("; or ")
            )),
        });
    }
    let mut allowed: Vec<Value> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    let mut got = Value::Null;
    for failure in at_deepest.into_iter().filter(|f| f.path == path_of_failure) {
        match failure.reason {
            Reason::NotOneOf { allowed: a, got: g } => {
                for v in a {
                    if !allowed.iter().any(|x| json_eq(x, &v)) {
                        allowed.push(v);
                    }
                }
                got = g;
            }
            Reason::Other(text) => {
                if !others.contains(&text) {
                    others.push(text);
                }
            }
        }
    }
    let reason = if others.is_empty() {
        Reason::NotOneOf { allowed, got }
    } else {
        if !allowed.is_empty() {
            others.insert(0, Reason::NotOneOf { allowed, got }.render());
        }
        Reason::Other(others.join(", or "))
    };
    Err(Failure {
        path: path_of_failure,
        reason,
    })
}

/// The schemas that apply to `key` of an object under this one node (not its branches, which
/// `validate` visits on its own): its property, matching patterns, or additionalProperties.
fn property_schemas<'a>(node: Node<'a>, key: &str) -> Vec<Node<'a>> {
    if let Some(schema) = node
        .get("properties")
        .and_then(Value::as_object)
        .and_then(|p| p.get(key))
    {
        return vec![node.child(schema)];
    }
    let mut out = Vec::new();
    if let Some(patterns) = node.get("patternProperties").and_then(Value::as_object) {
        for (pattern, schema) in patterns {
            if Pattern::new(pattern).is_some_and(|p| p.is_match(key)) {
                out.push(node.child(schema));
            }
        }
    }
    if out.is_empty() {
        if let Some(schema @ Value::Object(_)) = node.get("additionalProperties") {
            out.push(node.child(schema));
        }
    }
    out
}

fn check_number(
    schema: &serde_json::Map<String, Value>,
    n: f64,
    path: &[Segment],
) -> Result<(), Failure> {
    let bound = |k: &str| schema.get(k).and_then(Value::as_f64);
    if let Some(min) = bound("minimum") {
        if n < min {
            return fail(
                path,
                format!("must be at least {}, got {}", num(min), num(n)),
            );
        }
    }
    if let Some(max) = bound("maximum") {
        if n > max {
            return fail(
                path,
                format!("must be at most {}, got {}", num(max), num(n)),
            );
        }
    }
    if let Some(min) = bound("exclusiveMinimum") {
        if n <= min {
            return fail(
                path,
                format!("must be greater than {}, got {}", num(min), num(n)),
            );
        }
    }
    if let Some(max) = bound("exclusiveMaximum") {
        if n >= max {
            return fail(
                path,
                format!("must be less than {}, got {}", num(max), num(n)),
            );
        }
    }
    Ok(())
}

fn check_string(
    schema: &serde_json::Map<String, Value>,
    s: &str,
    path: &[Segment],
) -> Result<(), Failure> {
    let len = s.chars().count();
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        if (len as u64) < min {
            return fail(
                path,
                format!("must be at least {min} characters long, got {len}"),
            );
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        if (len as u64) > max {
            return fail(
                path,
                format!("must be at most {max} characters long, got {len}"),
            );
        }
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        // Patterns outside the supported regex subset are not checked.
        if Pattern::new(pattern).is_some_and(|p| !p.is_match(s)) {
            return fail(
                path,
                format!("{} does not match the pattern `{pattern}`", short_str(s)),
            );
        }
    }
    Ok(())
}

fn check_array(
    node: Node<'_>,
    items: &[Value],
    path: &mut Vec<Segment>,
    depth: usize,
) -> Result<(), Failure> {
    let count = items.len() as u64;
    if let Some(min) = node.get("minItems").and_then(Value::as_u64) {
        if count < min {
            return fail(
                path,
                format!("must have at least {min} item(s), got {count}"),
            );
        }
    }
    if let Some(max) = node.get("maxItems").and_then(Value::as_u64) {
        if count > max {
            return fail(
                path,
                format!("must have at most {max} item(s), got {count}"),
            );
        }
    }
    for (index, item) in items.iter().enumerate() {
        let item_schema = match node.get("items") {
            Some(Value::Array(tuple)) => tuple.get(index).or_else(|| node.get("additionalItems")),
            other => other,
        };
        if let Some(schema) = item_schema {
            path.push(Segment::Index(index));
            validate(node.child(schema), item, path, depth + 1)?;
            path.pop();
        }
    }
    Ok(())
}

fn type_matches(t: &str, value: &Value) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => match value {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        _ => true,
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// A value rendered as compact JSON, cut short for error messages.
fn short(value: &Value) -> String {
    let text = value.to_string();
    truncate(text)
}

fn short_str(s: &str) -> String {
    truncate(Value::String(s.to_owned()).to_string())
}

fn truncate(text: String) -> String {
    const LIMIT: usize = 60;
    if text.chars().count() <= LIMIT {
        text
    } else {
        let cut: String = text.chars().take(LIMIT).collect();
        format!("{cut}…")
    }
}
