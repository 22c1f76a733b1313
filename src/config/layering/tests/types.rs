//! Values checked against Kratos's config schema (and the `ostiary` schema) by the jsonschema crate.

use serde_json::{json, Value};

use super::super::{check_types, check_types_with_extension, ConfigError};
use super::fixtures::{extension_schema, full_config};

fn invalid(config: &Value) -> (String, String) {
    match check_types(config) {
        Err(ConfigError::InvalidValue { path, reason }) => (path, reason),
        other => panic!("expected an invalid value, got {other:?}"),
    }
}

#[test]
fn full_config_passes() {
    check_types(&full_config()).unwrap();
    check_types_with_extension(&full_config(), &extension_schema()).unwrap();
}

#[test]
fn string_port_is_rejected() {
    let (path, reason) = invalid(&json!({"serve": {"public": {"port": "4433"}}}));
    assert_eq!(path, "serve.public.port");
    assert!(
        reason.contains("is not of type \"integer\"") && reason.contains("\"4433\""),
        "{reason}"
    );
}

#[test]
fn port_out_of_range_is_rejected() {
    let (path, reason) = invalid(&json!({"serve": {"admin": {"port": 70000}}}));
    assert_eq!(path, "serve.admin.port");
    assert!(
        reason.contains("greater than the maximum of 65535"),
        "{reason}"
    );
    let (path, _) = invalid(&json!({"serve": {"public": {"port": 0}}}));
    assert_eq!(path, "serve.public.port");
    check_types(&json!({"expose-metrics-port": 0})).unwrap();
}

#[test]
fn fractional_port_is_not_an_integer() {
    let (path, _) = invalid(&json!({"serve": {"public": {"port": 4433.5}}}));
    assert_eq!(path, "serve.public.port");
    check_types(&json!({"serve": {"public": {"port": 4433.0}}})).unwrap();
}

#[test]
fn bad_enum_is_rejected() {
    let (path, reason) = invalid(&json!({"hashers": {"algorithm": "scrypt"}}));
    assert_eq!(path, "hashers.algorithm");
    assert!(
        reason.contains("\"argon2\"") && reason.contains("\"bcrypt\""),
        "{reason}"
    );
    assert!(reason.contains("\"scrypt\""), "{reason}");
}

#[test]
fn same_site_enum_is_case_sensitive() {
    let (path, _) = invalid(&json!({"session": {"cookie": {"same_site": "lax"}}}));
    assert_eq!(path, "session.cookie.same_site");
    check_types(&json!({"session": {"cookie": {"same_site": "Lax"}}})).unwrap();
}

#[test]
fn bad_duration_is_rejected() {
    let (path, reason) = invalid(&json!({"session": {"lifespan": "1 day"}}));
    assert_eq!(path, "session.lifespan");
    assert!(reason.contains("does not match"), "{reason}");
    for ok in ["1h", "1h30m", "500ms", "10s", "72h"] {
        check_types(&json!({"session": {"lifespan": ok}})).unwrap();
    }
    for bad in ["1d", "h", "", "10", "-1h", "1.5h"] {
        assert!(
            check_types(&json!({"session": {"lifespan": bad}})).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn bad_duration_in_flow_is_rejected() {
    let (path, _) =
        invalid(&json!({"selfservice": {"flows": {"login": {"lifespan": "ten minutes"}}}}));
    assert_eq!(path, "selfservice.flows.login.lifespan");
}

#[test]
fn boolean_as_string_is_rejected() {
    let (path, reason) = invalid(&json!({"log": {"leak_sensitive_values": "yes"}}));
    assert_eq!(path, "log.leak_sensitive_values");
    assert!(reason.contains("is not of type \"boolean\""), "{reason}");
}

#[test]
fn minimum_and_maximum_are_checked() {
    let (path, reason) = invalid(&json!({"hashers": {"bcrypt": {"cost": 3}}}));
    assert_eq!(path, "hashers.bcrypt.cost");
    assert!(reason.contains("less than the minimum of 4"), "{reason}");
    let (path, _) = invalid(
        &json!({"selfservice": {"methods": {"code": {"config": {"max_submissions": 256}}}}}),
    );
    assert_eq!(path, "selfservice.methods.code.config.max_submissions");
}

#[test]
fn min_length_is_checked() {
    let (path, reason) = invalid(&json!({"secrets": {"cookie": ["short"]}}));
    assert_eq!(path, "secrets.cookie.0");
    assert!(reason.contains("shorter than 16 characters"), "{reason}");
}

#[test]
fn smtp_uri_pattern_is_checked() {
    let (path, _) = invalid(&json!({"courier": {"smtp": {"connection_uri": "http://mail"}}}));
    assert_eq!(path, "courier.smtp.connection_uri");
}

#[test]
fn min_items_is_checked() {
    let (path, reason) = invalid(&json!({"identity": {"schemas": []}}));
    assert_eq!(path, "identity.schemas");
    assert!(reason.contains("less than 1 item"), "{reason}");
}

#[test]
fn identity_schema_element_types_are_checked() {
    let (path, _) = invalid(&json!({"identity": {"schemas": [{"id": 5, "url": "file:///x"}]}}));
    assert_eq!(path, "identity.schemas.0.id");
    let (path, _) = invalid(&json!({"identity": {"schemas": [null]}}));
    assert_eq!(path, "identity.schemas.0");
}

#[test]
fn hook_alternatives_are_merged_into_one_reason() {
    let (path, reason) = invalid(
        &json!({"selfservice": {"flows": {"registration": {"after": {
            "password": {"hooks": [{"hook": "sesion"}]}
        }}}}}),
    );
    assert_eq!(
        path,
        "selfservice.flows.registration.after.password.hooks.0.hook"
    );
    for allowed in [
        "\"session\"",
        "\"web_hook\"",
        "\"show_verification_ui\"",
        "\"b2b_sso\"",
    ] {
        assert!(reason.contains(allowed), "{reason}");
    }
}

#[test]
fn valid_hooks_pass() {
    check_types(&json!({"selfservice": {"flows": {"login": {"after": {
        "hooks": [{"hook": "web_hook", "config": {"url": "https://x", "method": "POST",
                   "body": "base64://e30=", "response": {"ignore": true}}}],
        "password": {"hooks": [{"hook": "require_verified_address"}, {"hook": "revoke_active_sessions"}]}
    }}}}}))
    .unwrap();
}

#[test]
fn deepest_branch_failure_is_reported() {
    let (path, reason) = invalid(&json!({"selfservice": {"flows": {"login": {"after": {
        "hooks": [{"hook": "web_hook", "config": {"url": "https://x", "can_interrupt": "yes"}}]
    }}}}}));
    assert_eq!(
        path,
        "selfservice.flows.login.after.hooks.0.config.can_interrupt"
    );
    assert!(reason.contains("is not of type \"boolean\""), "{reason}");
}

#[test]
fn code_method_any_of_constants_are_checked() {
    let (path, reason) = invalid(&json!({"selfservice": {"methods": {"code": {
        "passwordless_enabled": true, "mfa_enabled": true
    }}}}));
    // Both switches on: the branches that allow one of them each want the other false.
    assert!(
        path == "selfservice.methods.code.passwordless_enabled"
            || path == "selfservice.methods.code.mfa_enabled",
        "{path}"
    );
    assert_eq!(reason, "true is not one of false");
    check_types(&json!({"selfservice": {"methods": {"code": {"passwordless_enabled": true}}}}))
        .unwrap();
}

#[test]
fn cookie_secure_must_be_a_string_per_schema() {
    let (path, _) = invalid(&json!({"session": {"cookie": {"secure": true}}}));
    assert_eq!(path, "session.cookie.secure");
}

#[test]
fn version_pattern_accepts_anything_because_of_its_trailing_alternative() {
    // Quirk: `^(v…)|$` — the `|$` alternative matches the end of any string.
    check_types(&json!({"version": "v1.3.0"})).unwrap();
    check_types(&json!({"version": "whatever"})).unwrap();
}

#[test]
fn unknown_keys_and_ostiary_are_skipped_by_check_types() {
    check_types(&json!({"bogus": 1, "ostiary": {"session": {"sliding": "no"}}})).unwrap();
}

#[test]
fn ostiary_values_are_checked_with_extension() {
    let err = check_types_with_extension(
        &json!({"ostiary": {"session": {"sliding": "no"}}}),
        &extension_schema(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::InvalidValue { path, .. } if path == "ostiary.session.sliding"),
        "{err}"
    );
}

#[test]
fn display_is_one_line_naming_the_key() {
    let err = check_types(&json!({"serve": {"public": {"port": "x"}}})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for configuration key `serve.public.port`: \"x\" is not of type \"integer\""
    );
}

#[test]
fn dsn_must_be_a_string() {
    let (path, _) = invalid(&json!({"dsn": 5}));
    assert_eq!(path, "dsn");
}
