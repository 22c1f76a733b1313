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
/// deduplicated, each reported at the highest level whose whole subtree is unimplemented —
/// except that hook entries are always named one by one (see below).
/// `implemented` holds dotted key-path prefixes (`"serve.public.port"`, `"session"`); an entry
/// covers everything below it; `*` in an entry matches any one segment, and array indices in
/// the configuration may also simply be left out of an entry (`"identity.schemas.id"` covers
/// `identity.schemas.0.id`). Array indices in the returned paths are written as `*`. Keys under
/// `ostiary` are Ostiary's own and never reported.
///
/// Hook lists hold objects named by their `hook` value; such an element is written
/// `hooks[web_hook]` in the returned paths, and an entry may name it the same way
/// (`"selfservice.flows.login.after.hooks[require_verified_address]"` covers only those elements
/// of that list). A subtree that contains hook elements is never reported as a whole: the
/// report goes down to the hook elements, so each hook that is not acted on is named.
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
        implemented: implemented.iter().map(|entry| parse_entry(entry)).collect(),
        unimplemented: BTreeSet::new(),
        steps: Vec::new(),
    };
    let kratos = [Node::kratos()];
    let mut path = Vec::new();
    for (key, value) in root {
        path.push(Segment::Key(key.clone()));
        walker.steps.push(Step::Key(key.clone()));
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
        let track = !extension && walker.track(value);
        walker.walk(value, &schemas, &mut path, track)?;
        path.pop();
        walker.steps.pop();
    }
    Ok(walker.unimplemented.into_iter().collect())
}

/// One step of a key path as coverage sees it: a key, or an array element with the name of the
/// hook it holds (if it is a hook object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Item { index: usize, hook: Option<String> },
}

impl Step {
    /// The step for element `index` of an array, named by its `hook` if it has one.
    pub(crate) fn item(index: usize, value: &Value) -> Step {
        Step::Item {
            index,
            hook: value.get("hook").and_then(Value::as_str).map(str::to_owned),
        }
    }
}

/// Splits an entry into its segments; `hooks[session]` becomes `hooks`, `[session]`.
pub(crate) fn parse_entry(entry: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for part in entry.split('.').filter(|s| !s.is_empty()) {
        match part.find('[') {
            Some(at) if part.ends_with(']') && at > 0 => {
                out.push(&part[..at]);
                out.push(&part[at..]);
            }
            _ => out.push(part),
        }
    }
    out
}

/// A path for the warning: dotted, unnamed array elements as `*`, hook elements as `[name]`.
pub(crate) fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Item { hook: Some(h), .. } => {
                out.push('[');
                out.push_str(h);
                out.push(']');
            }
            Step::Item { hook: None, .. } => out.push_str(".*"),
        }
    }
    out
}

/// Whether `value` holds a hook element (an object with a string `hook`) anywhere inside an
/// array below it.
fn holds_hooks(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.values().any(holds_hooks),
        Value::Array(items) => items
            .iter()
            .any(|item| item.get("hook").and_then(Value::as_str).is_some() || holds_hooks(item)),
        _ => false,
    }
}

fn kratos_declares(key: &str) -> bool {
    kratos_schema()
        .get("properties")
        .and_then(|p| p.get(key))
        .is_some()
}

/// How an `implemented` entry relates to a configuration path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Coverage {
    /// The entry neither covers the path nor lies below it.
    None,
    /// The entry lies below the path: part of the subtree is implemented.
    Partial,
    /// The entry is a prefix of the path: the whole subtree is implemented.
    Full,
}

/// How entry (as split by [`parse_entry`]) relates to `path`.
pub(crate) fn coverage(entry: &[&str], path: &[Step]) -> Coverage {
    let Some((first, entry_rest)) = entry.split_first() else {
        return Coverage::Full;
    };
    let Some((step, path_rest)) = path.split_first() else {
        return Coverage::Partial;
    };
    match step {
        Step::Key(key) => {
            if *first == "*" || first == key {
                coverage(entry_rest, path_rest)
            } else {
                Coverage::None
            }
        }
        Step::Item { index, hook } => {
            let named = first.strip_prefix('[').and_then(|f| f.strip_suffix(']'));
            let matches = match named {
                Some(name) => hook.as_deref() == Some(name),
                None => *first == "*" || *first == index.to_string(),
            };
            let consumed = if matches {
                coverage(entry_rest, path_rest)
            } else {
                Coverage::None
            };
            if named.is_some() {
                // A hook name must match an element; it is never skipped.
                consumed
            } else {
                // The entry may also leave the index out.
                consumed.max(coverage(entry, path_rest))
            }
        }
    }
}

/// The best coverage any of `entries` gives `path`.
pub(crate) fn best_coverage(entries: &[Vec<&str>], path: &[Step]) -> Coverage {
    entries
        .iter()
        .map(|entry| coverage(entry, path))
        .max()
        .unwrap_or(Coverage::None)
}

struct Walker<'e> {
    implemented: Vec<Vec<&'e str>>,
    unimplemented: BTreeSet<String>,
    /// The path being walked, as coverage sees it (beside the `Segment` path errors name).
    steps: Vec<Step>,
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

    /// Decides whether the subtree at the current path still needs looking into for
    /// unimplemented keys, recording the path when nothing below it is implemented (and it holds
    /// no hook elements, which are always named one by one).
    fn track(&mut self, value: &Value) -> bool {
        let best = best_coverage(&self.implemented, &self.steps);
        let is_container = matches!(value, Value::Object(_) | Value::Array(_));
        match best {
            Coverage::Full => false,
            Coverage::Partial if is_container => true,
            Coverage::None if holds_hooks(value) => true,
            Coverage::Partial | Coverage::None => {
                self.unimplemented.insert(display(&self.steps));
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
                    self.steps.push(Step::Key(key.clone()));
                    let schemas = self.child_schemas(set, value, key, path)?;
                    let child_track = track && self.track(child);
                    self.walk(child, &schemas, path, child_track)?;
                    path.pop();
                    self.steps.pop();
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    path.push(Segment::Index(index));
                    self.steps.push(Step::item(index, child));
                    let schemas = if set.is_empty() {
                        Vec::new()
                    } else {
                        item_schemas(set, index).unwrap_or_default()
                    };
                    let child_track = track && self.track(child);
                    self.walk(child, &schemas, path, child_track)?;
                    path.pop();
                    self.steps.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Every key path the Kratos schema declares, with whether it is a leaf (declares nothing
/// below it). Array elements are index 0; the elements of a hook list are one path per hook
/// name the schema allows there (`hooks[web_hook]`, `hooks[session]`, …).
#[cfg(test)]
pub(crate) fn schema_key_paths() -> Vec<(Vec<Step>, bool)> {
    use super::schema::{declared_properties, expand};

    /// The hook names a hook-list element schema allows (`hook`'s `const` or `enum`).
    fn hook_names(part: &Node<'_>) -> Vec<String> {
        let Some(hook) = part
            .get("properties")
            .and_then(|p| p.get("hook"))
            .map(|h| part.child(h))
        else {
            return Vec::new();
        };
        let mut names = Vec::new();
        if let Some(c) = hook.get("const").and_then(Value::as_str) {
            names.push(c.to_owned());
        }
        if let Some(Value::Array(e)) = hook.get("enum") {
            names.extend(e.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        names
    }

    fn walk(set: &[Node<'_>], path: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, bool)>) {
        let mut children: Vec<(Step, Vec<Node<'_>>)> = declared_properties(set)
            .into_iter()
            .map(|(name, schemas)| (Step::Key(name.to_owned()), schemas))
            .collect();
        if let Some(items) = item_schemas(set, 0) {
            let mut named = Vec::new();
            for part in expand(&items) {
                for name in hook_names(&part) {
                    named.push((
                        Step::Item {
                            index: 0,
                            hook: Some(name),
                        },
                        vec![part],
                    ));
                }
            }
            if named.is_empty() {
                children.push((
                    Step::Item {
                        index: 0,
                        hook: None,
                    },
                    items,
                ));
            } else {
                children.extend(named);
            }
        }
        if !path.is_empty() {
            out.push((path.clone(), children.is_empty()));
        }
        if path.len() > 16 {
            return;
        }
        for (step, schemas) in children {
            path.push(step);
            walk(&schemas, path, out);
            path.pop();
        }
    }

    let mut out = Vec::new();
    walk(&[Node::kratos()], &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod coverage_tests {
    use super::*;

    /// A path: numbers are unnamed elements, `=name` an element holding hook `name`.
    fn p(s: &str) -> Vec<Step> {
        s.split('.')
            .map(|x| match (x.parse(), x.strip_prefix('=')) {
                (Ok(index), _) => Step::Item { index, hook: None },
                (_, Some(h)) => Step::Item {
                    index: 0,
                    hook: Some(h.to_owned()),
                },
                _ => Step::Key(x.to_owned()),
            })
            .collect()
    }

    fn e(s: &str) -> Vec<&str> {
        parse_entry(s)
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

    #[test]
    fn hook_names_match_only_their_elements() {
        let entry = e("flows.login.after.hooks[session]");
        assert_eq!(entry, ["flows", "login", "after", "hooks", "[session]"]);
        assert_eq!(
            coverage(&entry, &p("flows.login.after.hooks.=session")),
            Coverage::Full
        );
        assert_eq!(
            coverage(&entry, &p("flows.login.after.hooks.=session.hook")),
            Coverage::Full
        );
        assert_eq!(
            coverage(&entry, &p("flows.login.after.hooks.=web_hook")),
            Coverage::None
        );
        assert_eq!(
            coverage(&entry, &p("flows.login.after.hooks.0")),
            Coverage::None
        );
        assert_eq!(
            coverage(&entry, &p("flows.login.after.hooks")),
            Coverage::Partial
        );
        // A plain entry still covers every element, named or not.
        assert_eq!(
            coverage(
                &e("flows.login.after.hooks"),
                &p("flows.login.after.hooks.=web_hook")
            ),
            Coverage::Full
        );
        assert_eq!(
            coverage(
                &e("flows.*.after.*.hooks[web_hook]"),
                &p("flows.x.after.password.hooks.=web_hook.config")
            ),
            Coverage::Full
        );
    }

    #[test]
    fn display_names_hooks() {
        assert_eq!(
            display(&p("a.hooks.=web_hook.config")),
            "a.hooks[web_hook].config"
        );
        assert_eq!(
            display(&p("identity.schemas.3.url")),
            "identity.schemas.*.url"
        );
    }
}
