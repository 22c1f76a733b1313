//! Reading configuration files (YAML or JSON) and deep-merging them in command-line order.

use std::path::{Path, PathBuf};

use serde_json::{Map, Number, Value};

use super::error::{one_line, ConfigError};
use super::schema::json_kind;

/// Reads every file in `paths` and deep-merges them in order: later files override keys of
/// earlier ones, objects merge recursively, arrays and scalars are replaced wholesale.
///
/// Files whose name ends in `.json` are parsed with `serde_json` (better error messages); all
/// other files are parsed as YAML, a superset of JSON. YAML merge keys (`<<: *anchor`) are
/// applied. An empty file (or one containing only `null`/`~`) counts as an empty mapping; any
/// other non-mapping top level is a [`ConfigError::Parse`]. With no paths the result is `{}`.
pub fn load_files(paths: &[PathBuf]) -> Result<Value, ConfigError> {
    let mut merged = Value::Object(Map::new());
    for path in paths {
        let layer = load_file(path)?;
        deep_merge(&mut merged, layer);
    }
    Ok(merged)
}

/// Merges `overlay` into `base`: when both are objects, keys merge recursively (keys new to
/// `base` are appended in `overlay`'s order); in every other case `overlay` replaces `base`.
pub fn deep_merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base_map), Value::Object(overlay_map)) => {
            for (key, value) in overlay_map {
                match base_map.get_mut(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        base_map.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

fn load_file(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let parse_error = |message: String| ConfigError::Parse {
        file: path.to_path_buf(),
        message: one_line(&message),
    };
    let is_json = path
        .extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    let value = if is_json {
        serde_json::from_str::<Value>(&text).map_err(|e| parse_error(e.to_string()))?
    } else {
        let mut yaml = serde_yaml::from_str::<serde_yaml::Value>(&text)
            .map_err(|e| parse_error(e.to_string()))?;
        yaml.apply_merge().map_err(|e| parse_error(e.to_string()))?;
        yaml_to_json(yaml).map_err(parse_error)?
    };
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        other => Err(parse_error(format!(
            "the top level must be a mapping of configuration keys, found {}",
            json_kind(&other)
        ))),
    }
}

/// Converts a YAML document into JSON. Non-string mapping keys (numbers, booleans) become their
/// textual form, as Go's YAML-to-map decoding does; YAML tags are dropped.
fn yaml_to_json(yaml: serde_yaml::Value) -> Result<Value, String> {
    Ok(match yaml {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Value::Number(
                    Number::from_f64(f)
                        .ok_or_else(|| format!("the number {n} cannot be represented in JSON"))?,
                )
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        serde_yaml::Value::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    serde_yaml::Value::String(s) => s,
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::Null => "null".to_owned(),
                    _ => return Err("mapping keys must be scalars".to_owned()),
                };
                map.insert(key, yaml_to_json(value)?);
            }
            Value::Object(map)
        }
        serde_yaml::Value::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}
