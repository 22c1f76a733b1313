//! The config schema's `pattern`s and `patternProperties`, as the crates behind `Pattern` match them.

use super::super::pattern::Pattern;

fn m(pattern: &str, text: &str) -> bool {
    Pattern::new(pattern)
        .unwrap_or_else(|| panic!("pattern {pattern} should compile"))
        .is_match(text)
}

#[test]
fn duration_pattern() {
    let p = "^([0-9]+(ns|us|ms|s|m|h))+$";
    for ok in ["1s", "10m", "1h30m", "250ms", "5us", "7ns", "1h1m1s"] {
        assert!(m(p, ok), "{ok}");
    }
    for bad in ["", "1", "1d", "h", "1h ", " 1h", "1.5h", "1H"] {
        assert!(!m(p, bad), "{bad}");
    }
}

#[test]
fn single_unit_duration_pattern() {
    let p = "^[0-9]+(ns|us|ms|s|m|h)$";
    assert!(m(p, "30m"));
    assert!(!m(p, "1h30m"));
}

#[test]
fn search_is_unanchored() {
    assert!(m("b", "abc"));
    assert!(m("^https?://", "https://x"));
    assert!(!m("^https?://", "ftp://x"));
    assert!(m("^[0-9]+(B|KB|MB|GB|TB|PB|EB)", "128MBytes"));
}

#[test]
fn classes_ranges_and_literal_dash() {
    let p = "[a-zA-Z0-9-_.]+";
    assert!(m(p, "my-template_1.x"));
    assert!(m(p, "!!a!!"));
    assert!(!m(p, "!!!"));
    assert!(m("^[^0-9]+$", "abc"));
    assert!(!m("^[^0-9]+$", "ab1"));
    assert!(m("^[]a]$", "]"));
    assert!(m(r"^[\d.]+$", "1.2.3"));
    assert!(!m(r"^[\D]+$", "a1"));
}

#[test]
fn alternation_anchors() {
    let p = "^userinfo$|^id_token$";
    assert!(m(p, "userinfo"));
    assert!(m(p, "id_token"));
    assert!(!m(p, "access_token"));
    assert!(!m(p, "userinfo2"));
}

#[test]
fn escapes_and_counted_repetition() {
    assert!(m(r".*\*.*\*.*", "https://*.*.x"));
    assert!(!m(r".*\*.*\*.*", "https://*.x"));
    assert!(m(r"^\d{3}$", "123"));
    assert!(!m(r"^\d{3}$", "12"));
    assert!(m(r"^a{2,}$", "aaaa"));
    assert!(m(r"^a{1,2}b$", "aab"));
    assert!(!m(r"^a{1,2}b$", "aaab"));
    assert!(m(r"^\w+\s\S$", "ab_1 x"));
}

#[test]
fn semver_pattern_from_schema() {
    let p = r"^(v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?)";
    assert!(m(p, "v1.2.3"));
    assert!(m(p, "v0.5.0-alpha.1"));
    assert!(!m(p, "1.2.3"));
    // The schema appends `|$`, which matches any text.
    assert!(m(&format!("{p}|$"), "not a version"));
}

#[test]
fn look_around_and_back_references_go_to_the_backtracking_engine() {
    assert!(matches!(
        Pattern::new(r"^(?!admin)"),
        Some(Pattern::Fancy(_))
    ));
    assert!(m(r"^(?!admin)", "user"));
    assert!(!m(r"^(?!admin)", "admin"));
    assert!(m(r"^(a)\1$", "aa"));
    assert!(matches!(Pattern::new(r"^\d+$"), Some(Pattern::Plain(_))));
}

#[test]
fn malformed_patterns_are_refused() {
    for p in ["(", "[a", "*a"] {
        assert!(Pattern::new(p).is_none(), "{p}");
    }
}

#[test]
fn nested_empty_loops_terminate() {
    assert!(m("^(a*)*$", "aaaa"));
    assert!(m("^(a?)*b$", "aab"));
    // Would take exponential time with a backtracking matcher.
    assert!(!m("^(a|aa)+$", &format!("{}b", "a".repeat(5000))));
    assert!(m("^(a|aa)+$", &"a".repeat(5000)));
}

#[test]
fn dot_does_not_match_newline() {
    assert!(!m("^a.b$", "a\nb"));
    assert!(m("^a.b$", "a-b"));
}
