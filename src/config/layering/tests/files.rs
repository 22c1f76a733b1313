//! Tests for reading and deep-merging configuration files.

use serde_json::json;

use super::super::{deep_merge, load_files, ConfigError};
use super::fixtures::TempDir;

#[test]
fn yaml_then_json_merge_in_order() {
    let dir = TempDir::new();
    let base = dir.write(
        "base.yml",
        "dsn: memory\nserve:\n  public:\n    port: 4433\n    base_url: http://a/\n  admin:\n    port: 4434\n",
    );
    let overlay = dir.write(
        "overlay.json",
        r#"{"dsn": "postgres://x", "serve": {"public": {"port": 8080}}}"#,
    );
    let merged = load_files(&[base, overlay]).unwrap();
    assert_eq!(
        merged,
        json!({
            "dsn": "postgres://x",
            "serve": {
                "public": {"port": 8080, "base_url": "http://a/"},
                "admin": {"port": 4434}
            }
        })
    );
}

#[test]
fn arrays_and_scalars_are_replaced_not_merged() {
    let dir = TempDir::new();
    let a = dir.write(
        "a.yaml",
        "secrets:\n  cookie: [aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb]\nlog:\n  level: info\n",
    );
    let b = dir.write(
        "b.yaml",
        "secrets:\n  cookie: [cccccccccccccccc]\nlog: debug\n",
    );
    let merged = load_files(&[a, b]).unwrap();
    assert_eq!(
        merged,
        json!({"secrets": {"cookie": ["cccccccccccccccc"]}, "log": "debug"})
    );
}

#[test]
fn later_file_can_replace_scalar_with_object() {
    let dir = TempDir::new();
    let a = dir.write("a.yaml", "log: debug\n");
    let b = dir.write("b.yaml", "log:\n  level: info\n");
    assert_eq!(
        load_files(&[a, b]).unwrap(),
        json!({"log": {"level": "info"}})
    );
}

#[test]
fn no_files_and_empty_files_give_empty_object() {
    assert_eq!(load_files(&[]).unwrap(), json!({}));
    let dir = TempDir::new();
    let empty = dir.write("empty.yml", "");
    let comment = dir.write("comment.yml", "# nothing here\n");
    assert_eq!(load_files(&[empty, comment]).unwrap(), json!({}));
}

#[test]
fn json_content_in_yaml_file_parses() {
    let dir = TempDir::new();
    let f = dir.write(
        "config.yaml",
        r#"{"dsn": "memory", "serve": {"public": {"port": 1}}}"#,
    );
    assert_eq!(
        load_files(&[f]).unwrap(),
        json!({"dsn": "memory", "serve": {"public": {"port": 1}}})
    );
}

#[test]
fn yaml_merge_keys_and_anchors_are_applied() {
    let dir = TempDir::new();
    let f = dir.write(
        "anchors.yml",
        "x-base: &base\n  ui_url: http://ui/\n  lifespan: 1h\nselfservice:\n  flows:\n    login:\n      <<: *base\n      lifespan: 10m\n",
    );
    let v = load_files(&[f]).unwrap();
    assert_eq!(
        v["selfservice"]["flows"]["login"],
        json!({"ui_url": "http://ui/", "lifespan": "10m"})
    );
}

#[test]
fn key_order_is_preserved() {
    let dir = TempDir::new();
    let a = dir.write("a.yml", "zeta: 1\nalpha: 2\n");
    let b = dir.write("b.yml", "mid: 3\nzeta: 4\n");
    let v = load_files(&[a, b]).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["zeta", "alpha", "mid"]);
}

#[test]
fn missing_file_error_names_the_file() {
    let dir = TempDir::new();
    let missing = dir.path().join("nope.yml");
    let err = load_files(std::slice::from_ref(&missing)).unwrap_err();
    assert!(matches!(&err, ConfigError::Io { file, .. } if *file == missing));
    assert!(err.to_string().contains("nope.yml"), "{err}");
}

#[test]
fn bad_json_error_names_the_file_and_is_one_line() {
    let dir = TempDir::new();
    let f = dir.write("broken.json", "{\n  \"dsn\": \"memory\",\n}\n");
    let err = load_files(&[f]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConfigError::Parse { .. }));
    assert!(text.contains("broken.json"), "{text}");
    assert!(text.contains("line"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn bad_yaml_error_names_the_file() {
    let dir = TempDir::new();
    let f = dir.write("broken.yaml", "serve:\n  public: [unclosed\n");
    let err = load_files(&[f]).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }));
    assert!(err.to_string().contains("broken.yaml"), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn top_level_list_is_rejected() {
    let dir = TempDir::new();
    let f = dir.write("list.yaml", "- a\n- b\n");
    let err = load_files(&[f]).unwrap_err();
    assert!(err.to_string().contains("list.yaml"));
    assert!(err.to_string().contains("array"), "{err}");
}

#[test]
fn non_string_yaml_keys_become_strings() {
    let dir = TempDir::new();
    let f = dir.write("keys.yaml", "headers:\n  1: one\n  true: yes\n");
    assert_eq!(
        load_files(&[f]).unwrap(),
        json!({"headers": {"1": "one", "true": "yes"}})
    );
}

#[test]
fn deep_merge_adds_and_overrides() {
    let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": true});
    deep_merge(&mut base, json!({"a": {"c": [3], "e": null}, "f": "x"}));
    assert_eq!(
        base,
        json!({"a": {"b": 1, "c": [3], "e": null}, "d": true, "f": "x"})
    );
}
