//! JSON Schema `pattern` and `patternProperties` of the config schema, matched with the `regex`
//! crate (linear time); a pattern it cannot take (look-around, back-references) with
//! `fancy-regex`. Both are already in the dependency tree through `jsonschema`. As JSON Schema
//! says, a pattern is searched for anywhere in the text (it is not implicitly anchored).

/// A compiled pattern.
#[derive(Debug, Clone)]
pub enum Pattern {
    Plain(regex::Regex),
    Fancy(Box<fancy_regex::Regex>),
}

impl Pattern {
    /// Compiles `source`, or `None` when neither engine takes it (callers then skip the check).
    pub fn new(source: &str) -> Option<Pattern> {
        match regex::Regex::new(source) {
            Ok(r) => Some(Pattern::Plain(r)),
            Err(_) => fancy_regex::Regex::new(source)
                .ok()
                .map(|r| Pattern::Fancy(Box::new(r))),
        }
    }

    /// True if the pattern matches somewhere in `text` (a fancy pattern that gives up on its
    /// backtracking limit counts as no match).
    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Pattern::Plain(r) => r.is_match(text),
            Pattern::Fancy(r) => r.is_match(text).unwrap_or(false),
        }
    }
}
