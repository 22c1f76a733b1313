//! Value checking: the whole configuration is validated against Kratos's config schema (with
//! Ostiary's `ostiary` section against its own schema) by the `jsonschema` crate, as Kratos
//! validates it with its own. The first failure names the dotted key path and the rule.
//!
//! Not treated as failures here: `required` (Ostiary has defaults for what Kratos requires, such
//! as `dsn` and `identity`), and unknown keys (`check_keys` reports those first, with their path).
//! `format` is not checked, as in Kratos's loader. The schema's one external reference
//! (`ory://tracing-config`, the tracing section, which Ostiary does not act on) accepts anything.

use serde_json::Value;

use jsonschema::error::ValidationErrorKind;

use super::env::EXTENSION_KEY;
use super::error::ConfigError;
use super::schema::{json_kind, kratos_schema};

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
    if config.is_null() {
        return Ok(());
    }
    if !config.is_object() {
        return Err(ConfigError::InvalidValue {
            path: "(root)".to_owned(),
            reason: format!(
                "the configuration must be a mapping of keys, found {}",
                json_kind(config)
            ),
        });
    }
    let mut kratos = config.clone();
    let extension = kratos.as_object_mut().and_then(|m| m.remove(EXTENSION_KEY));
    check(&kratos_with_open_refs(), &kratos, "")?;
    match extension {
        Some(section) => check(extension_schema, &section, EXTENSION_KEY),
        None => Ok(()),
    }
}

/// Validate `value` against `schema`; the first failure (see [`deepest`]) as a [`ConfigError`],
/// its path under `prefix`.
fn check(schema: &Value, value: &Value, prefix: &str) -> Result<(), ConfigError> {
    let validator = jsonschema::options()
        .build(schema)
        .map_err(|e| ConfigError::InvalidValue {
            path: "(schema)".to_owned(),
            reason: format!("the config schema does not compile: {e}"),
        })?;
    let first = validator
        .iter_errors(value)
        .find(|e| counts(e))
        .map(|e| explain(&e));
    match first {
        None => Ok(()),
        Some((pointer, reason)) => {
            let path = dotted(&pointer);
            let path = match (prefix.is_empty(), path.as_str()) {
                (true, _) => path,
                (false, "(root)") => prefix.to_owned(),
                (false, p) => format!("{prefix}.{p}"),
            };
            Err(ConfigError::InvalidValue {
                path,
                reason: one_line(&reason),
            })
        }
    }
}

/// Whether a failure is one this check reports (see the module docs).
fn counts(e: &jsonschema::ValidationError<'_>) -> bool {
    !matches!(
        e.kind(),
        ValidationErrorKind::Required { .. }
            | ValidationErrorKind::AdditionalProperties { .. }
            | ValidationErrorKind::UnevaluatedProperties { .. }
    )
}

/// The JSON pointer and reason of a failure. A value that matches none of `anyOf`/`oneOf`'s
/// branches is explained by the failures deepest inside it (the branches that got furthest name
/// the key that is wrong); where those all list allowed values, the reason lists them all.
fn explain(e: &jsonschema::ValidationError<'_>) -> (String, String) {
    let mut leaves = Vec::new();
    collect_leaves(e, &mut leaves);
    let segments =
        |l: &jsonschema::ValidationError<'_>| l.instance_path().as_str().matches('/').count();
    let depth = leaves.iter().map(|l| segments(l)).max().unwrap_or(0);
    if depth <= segments(e) {
        return (e.instance_path().as_str().to_owned(), e.to_string());
    }
    let deepest: Vec<_> = leaves
        .into_iter()
        .filter(|l| segments(l) == depth)
        .collect();
    let pointer = deepest[0].instance_path().as_str().to_owned();
    let mut allowed = Vec::new();
    for l in &deepest {
        match l.kind() {
            ValidationErrorKind::Enum { options } => {
                allowed.extend(options.as_array().into_iter().flatten().cloned())
            }
            ValidationErrorKind::Constant { expected_value } => {
                allowed.push((**expected_value).clone())
            }
            _ => return (pointer, deepest[0].to_string()),
        }
    }
    allowed.dedup();
    let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
    let reason = format!(
        "{} is not one of {}",
        deepest[0].instance(),
        list.join(", ")
    );
    (pointer, reason)
}

/// The failures that count inside `anyOf`/`oneOf` branches, recursively; any other failure itself.
fn collect_leaves<'a, 'i>(
    e: &'a jsonschema::ValidationError<'i>,
    out: &mut Vec<&'a jsonschema::ValidationError<'i>>,
) {
    match e.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            for c in context.iter().flatten().filter(|c| counts(c)) {
                collect_leaves(c, out);
            }
        }
        _ => out.push(e),
    }
}

/// Kratos's schema, its one external reference made open.
fn kratos_with_open_refs() -> Value {
    let mut schema = kratos_schema().clone();
    open_external_refs(&mut schema);
    schema
}

/// Replace every `$ref` that does not point into the schema itself by "anything".
fn open_external_refs(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let external = map
                .get("$ref")
                .and_then(Value::as_str)
                .is_some_and(|r| !r.starts_with('#'));
            if external {
                map.remove("$ref");
            }
            map.values_mut().for_each(open_external_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(open_external_refs),
        _ => {}
    }
}

/// `/serve/public/port` → `serve.public.port` (JSON pointer escapes undone).
fn dotted(pointer: &str) -> String {
    if pointer.is_empty() {
        return "(root)".to_owned();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// A reason on one line, at most 300 characters (a long enum list is cut).
fn one_line(text: &str) -> String {
    let line = text.replace(['\n', '\r'], " ");
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}
