//! Key checking: rejecting keys the Kratos schema (or the `ostiary` extension schema) does not
//! allow, and listing the keys Kratos knows but Ostiary does not implement yet.

use std::collections::BTreeSet;

use serde_json::Value;

use super::env::EXTENSION_KEY;
use super::error::ConfigError;
use super::schema::{
    dotted, item_schemas, json_kind, kratos_schema, lookup_key, KeyLookup, Node, Segment,
};

/// Walks `config` against the Kratos schema (and its `ostiary` section against
/// `extension_schema`; pass `Value::Null` when there is none, which makes `ostiary` unknown).
///
/// Returns [`ConfigError::UnknownKey`] for the first key (in document order) the schema does
/// not allow. Objects that enumerate their properties are treated as closed even where the
/// Kratos schema omits `additionalProperties` (see `schema::lookup_key`); objects the schema
/// leaves explicitly open (`additionalProperties: true` or a schema) or free-form accept any key.
///
/// On success returns the configured key paths that no `implemented` entry covers, sorted and
/// deduplicated, each reported at the highest level whose whole subtree is unimplemented.
/// `implemented` holds dotted key-path prefixes (`"serve.public.port"`, `"session"`); an entry
/// covers everything below it; `*` in an entry matches any one segment, and array indices in
/// the configuration may also simply be left out of an entry (`"identity.schemas.id"` covers
/// `identity.schemas.0.id`). Array indices in the returned paths are written as `*`. Keys under
/// `ostiary` are Ostiary's own and never reported.
pub fn check_keys(
    config: &Value,
    extension_schema: &Value,
    implemented: &[&str],
) -> Result<Vec<String>, ConfigError> {
    let root = match config {
        Value::Object(map) => map,
        Value::Null => return Ok(Vec::new()),
        other => {
            return Err(ConfigError::InvalidValue {
                path: "(root)".to_owned(),
                reason: format!(
                    "the configuration must be a mapping of keys, found {}",
                    json_kind(other)
                ),
            });
        }
    };
    let mut walker = Walker {
        implemented: implemented
            .iter()
            .map(|entry| entry.split('.').filter(|s| !s.is_empty()).collect())
            .collect(),
        unimplemented: BTreeSet::new(),
    };
    let kratos = [Node::kratos()];
    let mut path = Vec::new();
    for (key, value) in root {
        path.push(Segment::Key(key.clone()));
        let extension = key == EXTENSION_KEY && !kratos_declares(EXTENSION_KEY);
        let schemas = if extension {
            match extension_schema {
                Value::Null | Value::Bool(false) => {
                    return Err(ConfigError::UnknownKey {
                        path: dotted(&path),
                    });
                }
                schema => vec![Node::root(schema)],
            }
        } else {
            walker.child_schemas(&kratos, config, key, &path)?
        };
        let track = !extension && walker.track(&path, value);
        walker.walk(value, &schemas, &mut path, track)?;
        path.pop();
    }
    Ok(walker.unimplemented.into_iter().collect())
}

fn kratos_declares(key: &str) -> bool {
    kratos_schema()
        .get("properties")
        .and_then(|p| p.get(key))
        .is_some()
}

/// How an `implemented` entry relates to a configuration path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Coverage {
    /// The entry neither covers the path nor lies below it.
    None,
    /// The entry lies below the path: part of the subtree is implemented.
    Partial,
    /// The entry is a prefix of the path: the whole subtree is implemented.
    Full,
}

fn coverage(entry: &[&str], path: &[Segment]) -> Coverage {
    let Some((first, entry_rest)) = entry.split_first() else {
        return Coverage::Full;
    };
    let Some((segment, path_rest)) = path.split_first() else {
        return Coverage::Partial;
    };
    match segment {
        Segment::Key(key) => {
            if *first == "*" || first == key {
                coverage(entry_rest, path_rest)
            } else {
                Coverage::None
            }
        }
        Segment::Index(index) => {
            let consumed = if *first == "*" || *first == index.to_string() {
                coverage(entry_rest, path_rest)
            } else {
                Coverage::None
            };
            // The entry may also leave the index out.
            consumed.max(coverage(entry, path_rest))
        }
    }
}

struct Walker<'e> {
    implemented: Vec<Vec<&'e str>>,
    unimplemented: BTreeSet<String>,
}

impl Walker<'_> {
    /// The schemas for `key` below `set` (empty = anything goes), or the unknown-key error.
    fn child_schemas<'a>(
        &self,
        set: &[Node<'a>],
        object: &Value,
        key: &str,
        path: &[Segment],
    ) -> Result<Vec<Node<'a>>, ConfigError> {
        if set.is_empty() {
            return Ok(Vec::new());
        }
        match lookup_key(set, object, key) {
            KeyLookup::Known(children) => Ok(children),
            KeyLookup::Open => Ok(Vec::new()),
            KeyLookup::Rejected => Err(ConfigError::UnknownKey { path: dotted(path) }),
        }
    }

    /// Decides whether the subtree at `path` still needs looking into for unimplemented keys,
    /// recording `path` when nothing below it is implemented.
    fn track(&mut self, path: &[Segment], value: &Value) -> bool {
        let best = self
            .implemented
            .iter()
            .map(|entry| coverage(entry, path))
            .max()
            .unwrap_or(Coverage::None);
        let is_container = matches!(value, Value::Object(_) | Value::Array(_));
        match best {
            Coverage::Full => false,
            Coverage::Partial if is_container => true,
            Coverage::Partial | Coverage::None => {
                self.unimplemented.insert(display(path));
                false
            }
        }
    }

    fn walk(
        &mut self,
        value: &Value,
        set: &[Node<'_>],
        path: &mut Vec<Segment>,
        track: bool,
    ) -> Result<(), ConfigError> {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    path.push(Segment::Key(key.clone()));
                    let schemas = self.child_schemas(set, value, key, path)?;
                    let child_track = track && self.track(path, child);
                    self.walk(child, &schemas, path, child_track)?;
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    path.push(Segment::Index(index));
                    let schemas = if set.is_empty() {
                        Vec::new()
                    } else {
                        item_schemas(set, index).unwrap_or_default()
                    };
                    let child_track = track && self.track(path, child);
                    self.walk(child, &schemas, path, child_track)?;
                    path.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A path for the unimplemented-keys warning: dotted, array indices as `*`.
fn display(path: &[Segment]) -> String {
    path.iter()
        .map(|s| match s {
            Segment::Key(k) => k.as_str(),
            Segment::Index(_) => "*",
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod coverage_tests {
    use super::*;

    fn p(s: &str) -> Vec<Segment> {
        s.split('.')
            .map(|x| match x.parse() {
                Ok(i) => Segment::Index(i),
                Err(_) => Segment::Key(x.to_owned()),
            })
            .collect()
    }

    fn e(s: &str) -> Vec<&str> {
        s.split('.').collect()
    }

    #[test]
    fn prefix_covers_subtree() {
        assert_eq!(
            coverage(&e("session"), &p("session.cookie.name")),
            Coverage::Full
        );
        assert_eq!(
            coverage(&e("session.cookie"), &p("session")),
            Coverage::Partial
        );
        assert_eq!(
            coverage(&e("serve.admin"), &p("serve.public")),
            Coverage::None
        );
    }

    #[test]
    fn indices_match_star_number_or_skip() {
        let path = p("identity.schemas.0.id");
        assert_eq!(coverage(&e("identity.schemas.*.id"), &path), Coverage::Full);
        assert_eq!(coverage(&e("identity.schemas.0.id"), &path), Coverage::Full);
        assert_eq!(coverage(&e("identity.schemas.1.id"), &path), Coverage::None);
        assert_eq!(coverage(&e("identity.schemas.id"), &path), Coverage::Full);
        assert_eq!(coverage(&e("identity.schemas.url"), &path), Coverage::None);
        assert_eq!(
            coverage(&e("identity.schemas.id"), &p("identity.schemas.0")),
            Coverage::Partial
        );
    }
}
