//! Environment-variable overrides: mapping `SERVE_PUBLIC_PORT`-style names onto schema key
//! paths by walking the schema, casting values by the schema type, and writing them in.
//!
//! Matching rules (facts of Kratos's convention, re-implemented):
//! * A variable names a key path upper-cased with `.` replaced by `_`, no prefix. Names are
//!   compared case-insensitively (Kratos lower-cases variable names before comparing). A `-`
//!   in a key name (`sqa-opt-out`) may be written as `-` or `_`.
//! * Because key names contain `_` themselves, a name is matched by walking the schema: at each
//!   level every declared property (through `$ref`, `allOf`, `anyOf`, `oneOf`) whose upper-cased
//!   name is a prefix of the rest of the variable name, followed by `_` or the end, is tried,
//!   longest name first, backtracking into shorter ones if the longer leads nowhere.
//! * Below an array, a run of digits addresses an element (`IDENTITY_SCHEMAS_0_ID`); missing
//!   elements are created (gaps are filled with `null`).
//! * Map-like objects (`patternProperties`, `additionalProperties` schemas) cannot be entered
//!   (their key names are not recoverable from an upper-cased name); set them whole, as JSON.
//! * Top-level `OSTIARY_...` names are matched against the extension schema for `ostiary`.
//!
//! Ambiguities found in the Kratos schema (all resolved by longest-name-first, and no two
//! key paths share one variable name — a unit test walks the whole schema to prove it):
//! `courier.templates.recovery` vs `recovery_code`, `courier.templates.verification` vs
//! `verification_code`, `feature_flags.cacheable_sessions` vs `cacheable_sessions_max_age`, and
//! `apple_private_key` vs `apple_private_key_id` in OIDC providers.

use serde_json::{Map, Number, Value};

use super::error::{one_line, ConfigError};
use super::files::deep_merge;
use super::schema::{declared_properties, declared_types, dotted, item_schemas, Node, Segment};

/// The top-level key holding Ostiary's own settings, described by the extension schema.
pub const EXTENSION_KEY: &str = "ostiary";

/// Array indices above this are refused rather than padding an array with thousands of nulls.
const MAX_ENV_INDEX: usize = 1024;

/// Applies every environment variable that names a configuration key to `config`.
///
/// Variables that match no key of the Kratos schema (or of `extension_schema` under
/// `ostiary`) are ignored. Values are cast by the schema type at the key: integers, numbers
/// and booleans are parsed, object-typed keys take JSON text, array-typed keys take a JSON
/// array or comma-separated values (each trimmed; an empty value is an empty array), strings
/// are taken as-is. A value that cannot be cast is a [`ConfigError::Env`].
///
/// Overrides are applied shallowest key path first (then by variable name), so
/// `SECRETS_COOKIE=a,b` is applied before `SECRETS_COOKIE_0=c` refines it. An object given as
/// JSON is deep-merged into what is already there, as every other configuration layer is.
pub fn apply_env(
    config: &mut Value,
    env: impl IntoIterator<Item = (String, String)>,
    extension_schema: &Value,
) -> Result<(), ConfigError> {
    let mut matched: Vec<(Vec<Segment>, Vec<Node<'_>>, String, String)> = Vec::new();
    for (var, value) in env {
        if let Some((path, leaf)) = resolve_name(&var, extension_schema) {
            matched.push((path, leaf, var, value));
        }
    }
    matched.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.2.cmp(&b.2)));

    for (path, leaf, var, raw) in matched {
        let env_error = |reason: String| ConfigError::Env {
            var: var.clone(),
            path: dotted(&path),
            reason: one_line(&reason),
        };
        let value = cast(&raw, &leaf).map_err(env_error)?;
        set_path(config, &path, value).map_err(env_error)?;
    }
    Ok(())
}

/// The dotted key path an environment variable name maps to, if any (for diagnostics).
pub fn env_var_path(name: &str, extension_schema: &Value) -> Option<String> {
    resolve_name(name, extension_schema).map(|(path, _)| dotted(&path))
}

/// Matches a variable name against the schemas; returns the key path and the leaf schemas.
fn resolve_name<'a>(
    name: &str,
    extension_schema: &'a Value,
) -> Option<(Vec<Segment>, Vec<Node<'a>>)> {
    let upper = name.to_ascii_uppercase();
    if upper.is_empty() {
        return None;
    }
    let extension = (!extension_schema.is_null()).then(|| Node::root(extension_schema));
    let mut path = Vec::new();
    resolve(&[Node::kratos()], &upper, &mut path, extension)
}

fn resolve<'a>(
    set: &[Node<'a>],
    rest: &str,
    path: &mut Vec<Segment>,
    root_extension: Option<Node<'a>>,
) -> Option<(Vec<Segment>, Vec<Node<'a>>)> {
    if rest.is_empty() {
        return Some((path.clone(), set.to_vec()));
    }

    let mut properties = declared_properties(set);
    if let Some(extension) = root_extension {
        if !properties.iter().any(|(name, _)| *name == EXTENSION_KEY) {
            properties.push((EXTENSION_KEY, vec![extension]));
        }
    }
    // Longest property name first; the sort is stable, so equal lengths keep schema order.
    properties.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, schemas) in properties {
        let Some(after) = strip_key(rest, name) else {
            continue;
        };
        path.push(Segment::Key(name.to_owned()));
        let found = resolve(&schemas, after, path, None);
        path.pop();
        if found.is_some() {
            return found;
        }
    }

    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let after = match rest.as_bytes().get(digits) {
            None => Some(""),
            Some(b'_') if rest.len() > digits + 1 => Some(&rest[digits + 1..]),
            Some(_) => None,
        };
        if let (Some(after), Ok(index)) = (after, rest[..digits].parse::<usize>()) {
            if let Some(items) = item_schemas(set, index) {
                path.push(Segment::Index(index));
                let found = resolve(&items, after, path, None);
                path.pop();
                return found;
            }
        }
    }
    None
}

/// If `rest` starts with the variable form of `key` followed by `_` (and more) or the end,
/// returns what follows the separator.
fn strip_key<'r>(rest: &'r str, key: &str) -> Option<&'r str> {
    let r = rest.as_bytes();
    let k = key.as_bytes();
    if r.len() < k.len() {
        return None;
    }
    let same = k.iter().zip(r).all(|(&kc, &rc)| match kc {
        b'-' => rc == b'-' || rc == b'_',
        _ => kc.to_ascii_uppercase() == rc,
    });
    if !same {
        return None;
    }
    match r.get(k.len()) {
        None => Some(""),
        Some(b'_') if r.len() > k.len() + 1 => Some(&rest[k.len() + 1..]),
        Some(_) => None,
    }
}

/// Casts an environment value by the types the schema admits at its key.
fn cast(raw: &str, leaf: &[Node<'_>]) -> Result<Value, String> {
    let types = declared_types(leaf);
    let has = |t: &str| types.iter().any(|x| x == t);
    let trimmed = raw.trim();

    if types.is_empty() {
        return Ok(serde_json::from_str(trimmed).unwrap_or_else(|_| Value::String(raw.to_owned())));
    }
    if has("object") && trimmed.starts_with('{') {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(v @ Value::Object(_)) => return Ok(v),
            Ok(_) => {}
            Err(e) if !has("string") => return Err(format!("expected a JSON object: {e}")),
            Err(_) => {}
        }
    }
    if has("array") {
        if trimmed.starts_with('[') {
            match serde_json::from_str::<Value>(trimmed) {
                Ok(v @ Value::Array(_)) => return Ok(v),
                Ok(_) => {}
                Err(e) if !has("string") => return Err(format!("expected a JSON array: {e}")),
                Err(_) => {}
            }
        } else if !has("string") {
            return split_list(trimmed, leaf);
        }
    }
    if has("boolean") {
        if let Some(b) = parse_bool(trimmed) {
            return Ok(Value::Bool(b));
        }
    }
    if has("integer") || has("number") {
        if let Ok(i) = trimmed.parse::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = trimmed.parse::<u64>() {
            return Ok(Value::from(u));
        }
    }
    if has("number") {
        if let Some(n) = trimmed.parse::<f64>().ok().and_then(Number::from_f64) {
            return Ok(Value::Number(n));
        }
    }
    if has("null") && (trimmed.is_empty() || trimmed == "null") {
        return Ok(Value::Null);
    }
    if has("string") {
        return Ok(Value::String(raw.to_owned()));
    }
    let expected = if has("object") {
        "a JSON object".to_owned()
    } else {
        types.join(" or ")
    };
    Err(format!("expected {expected}, got {raw:?}"))
}

/// `a,b,c` → `["a","b","c"]`, each element cast by the item schema.
fn split_list(trimmed: &str, leaf: &[Node<'_>]) -> Result<Value, String> {
    if trimmed.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    trimmed
        .split(',')
        .enumerate()
        .map(|(i, element)| {
            let items = item_schemas(leaf, i).unwrap_or_default();
            cast(element.trim(), &items).map_err(|e| format!("element {i}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// The spellings Go's `strconv.ParseBool` accepts, which Kratos deployments rely on.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Writes `value` at `path`, creating objects, arrays and array elements on the way.
fn set_path(config: &mut Value, path: &[Segment], value: Value) -> Result<(), String> {
    let mut current = config;
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !current.is_object() {
                    *current = Value::Object(Map::new());
                }
                let Value::Object(map) = current else {
                    unreachable!("just made an object");
                };
                current = map.entry(key.clone()).or_insert(Value::Null);
            }
            Segment::Index(index) => {
                if *index > MAX_ENV_INDEX {
                    return Err(format!(
                        "array index {index} is larger than {MAX_ENV_INDEX}"
                    ));
                }
                if !current.is_array() {
                    *current = Value::Array(Vec::new());
                }
                let Value::Array(items) = current else {
                    unreachable!("just made an array");
                };
                if items.len() <= *index {
                    items.resize(*index + 1, Value::Null);
                }
                current = &mut items[*index];
            }
        }
    }
    deep_merge(current, value);
    Ok(())
}
