//! Tests for unknown-key rejection and the unimplemented-keys report.

use serde_json::{json, Value};

use super::super::{check_keys, ConfigError};
use super::fixtures::{extension_schema, full_config};

/// A sample of what Ostiary might implement, used against the full fixture.
const SAMPLE_IMPLEMENTED: &[&str] = &[
    "version",
    "dsn",
    "serve.public.base_url",
    "serve.public.port",
    "serve.admin",
    "selfservice.default_browser_return_url",
    "selfservice.allowed_return_urls",
    "selfservice.methods.password",
    "selfservice.flows.error",
    "selfservice.flows.login.ui_url",
    "selfservice.flows.login.lifespan",
    "selfservice.flows.registration",
    "identity.default_schema_id",
    "identity.schemas.*.id",
    "identity.schemas.url",
    "secrets.cookie",
    "session",
    "log.level",
    "hashers",
];

fn unknown_key(config: &Value) -> String {
    match check_keys(config, &extension_schema(), &[]) {
        Err(ConfigError::UnknownKey { path }) => path,
        other => panic!("expected an unknown key, got {other:?}"),
    }
}

fn passes(config: &Value) -> Vec<String> {
    check_keys(config, &extension_schema(), &[]).unwrap()
}

#[test]
fn full_config_passes_and_reports_unimplemented() {
    let unimplemented =
        check_keys(&full_config(), &extension_schema(), SAMPLE_IMPLEMENTED).unwrap();
    assert_eq!(
        unimplemented,
        [
            "ciphers",
            "courier",
            "feature_flags",
            "log.format",
            "log.leak_sensitive_values",
            "secrets.cipher",
            // A subtree with hooks is reported down to each hook.
            "selfservice.flows.login.after.password.hooks[require_verified_address]",
            "selfservice.flows.logout",
            "selfservice.flows.recovery",
            "selfservice.flows.settings",
            "selfservice.flows.verification",
            "selfservice.methods.code",
            "selfservice.methods.link",
            "selfservice.methods.lookup_secret",
            "selfservice.methods.oidc",
            "selfservice.methods.totp",
            "serve.public.cors",
        ]
    );
}

#[test]
fn nothing_implemented_reports_top_level_keys_but_not_ostiary() {
    let unimplemented = check_keys(&full_config(), &extension_schema(), &[]).unwrap();
    assert_eq!(
        unimplemented,
        [
            "ciphers",
            "courier",
            "dsn",
            "feature_flags",
            "hashers",
            "identity",
            "log",
            "secrets",
            // `selfservice` holds hook lists, so it is reported down to each hook.
            "selfservice.allowed_return_urls",
            "selfservice.default_browser_return_url",
            "selfservice.flows.error",
            "selfservice.flows.login.after.password.hooks[require_verified_address]",
            "selfservice.flows.login.lifespan",
            "selfservice.flows.login.ui_url",
            "selfservice.flows.logout",
            "selfservice.flows.recovery",
            "selfservice.flows.registration.after.oidc.hooks[session]",
            "selfservice.flows.registration.after.password.hooks[session]",
            "selfservice.flows.registration.after.password.hooks[show_verification_ui]",
            "selfservice.flows.registration.lifespan",
            "selfservice.flows.registration.ui_url",
            "selfservice.flows.settings",
            "selfservice.flows.verification",
            "selfservice.methods",
            "serve",
            "session",
            "version",
        ]
    );
}

#[test]
fn everything_implemented_reports_nothing() {
    let all = [
        "version",
        "dsn",
        "serve",
        "selfservice",
        "log",
        "secrets",
        "ciphers",
        "hashers",
        "identity",
        "courier",
        "session",
        "feature_flags",
    ];
    assert!(check_keys(&full_config(), &extension_schema(), &all)
        .unwrap()
        .is_empty());
}

#[test]
fn array_elements_are_reported_with_star_and_deduplicated() {
    let config = json!({"identity": {"schemas": [
        {"id": "a", "url": "file:///a.json"},
        {"id": "b", "url": "file:///b.json", "selfservice_selectable": true}
    ]}});
    let unimplemented = check_keys(&config, &json!(null), &["identity.schemas.*.id"]).unwrap();
    assert_eq!(
        unimplemented,
        [
            "identity.schemas.*.selfservice_selectable",
            "identity.schemas.*.url"
        ]
    );
}

#[test]
fn partially_implemented_leaf_is_reported() {
    let config = json!({"serve": {"public": {"port": 4433}}});
    let unimplemented = check_keys(&config, &json!(null), &["serve.public.port.x"]).unwrap();
    assert_eq!(unimplemented, ["serve.public.port"]);
}

#[test]
fn typo_in_selfservice_is_rejected() {
    assert_eq!(
        unknown_key(&json!({"selfservice": {"flowz": {}}})),
        "selfservice.flowz"
    );
}

#[test]
fn typo_in_serve_public_is_rejected() {
    assert_eq!(
        unknown_key(&json!({"serve": {"public": {"prot": 4433}}})),
        "serve.public.prot"
    );
}

#[test]
fn typo_at_top_level_is_rejected() {
    assert_eq!(
        unknown_key(&json!({"sesion": {"lifespan": "1h"}})),
        "sesion"
    );
}

#[test]
fn unknown_key_in_login_flow_is_rejected() {
    assert_eq!(
        unknown_key(&json!({"selfservice": {"flows": {"login": {"ui_url": "x", "bogus": 1}}}})),
        "selfservice.flows.login.bogus"
    );
}

#[test]
fn unknown_key_inside_identity_schema_element_is_rejected() {
    let config = json!({"identity": {"schemas": [
        {"id": "a", "url": "file:///a.json"},
        {"id": "b", "url": "file:///b.json", "bogus": true}
    ]}});
    assert_eq!(unknown_key(&config), "identity.schemas.1.bogus");
}

#[test]
fn unknown_key_in_full_config_is_rejected_with_its_path() {
    let mut config = full_config();
    config["identity"]["schemas"][0]["bogus"] = json!(1);
    assert_eq!(unknown_key(&config), "identity.schemas.0.bogus");
}

#[test]
fn unknown_key_in_hook_is_rejected() {
    let config = json!({"selfservice": {"flows": {"registration": {"after": {"password": {
        "hooks": [{"hook": "session"}, {"hook": "web_hook", "config": {"url": "https://x", "bogus": 1}}]
    }}}}}});
    assert_eq!(
        unknown_key(&config),
        "selfservice.flows.registration.after.password.hooks.1.config.bogus"
    );
}

#[test]
fn property_literally_named_additional_properties_is_rejected() {
    // Quirk: the schema declares `additionalProperties` inside `properties` with schema `false`.
    let config = json!({"courier": {"http": {"request_config": {
        "url": "https://x", "additionalProperties": false
    }}}});
    assert_eq!(
        unknown_key(&config),
        "courier.http.request_config.additionalProperties"
    );
}

#[test]
fn explicitly_open_objects_accept_any_key() {
    let config = json!({
        "selfservice": {"methods": {"code": {"enabled": true, "passwordless_login_fallback_enabled": true}}},
        "courier": {"smtp": {"headers": {"X-SES-SOURCE-ARN": "arn", "X-Anything": "y"}}},
        "tracing": {"provider": "otel", "something_newer": {"a": 1}}
    });
    passes(&config);
}

#[test]
fn free_form_hook_config_accepts_any_key() {
    let config = json!({"selfservice": {"flows": {"login": {"after": {"hooks": [
        {"hook": "b2b_sso", "config": {"anything": {"nested": true}}}
    ]}}}}});
    passes(&config);
}

#[test]
fn pattern_properties_are_matched() {
    let config = json!({
        "session": {"whoami": {"tokenizer": {"templates": {
            "my_jwt": {"ttl": "1m", "jwks_url": "base64://e30="}
        }}}},
        "selfservice": {"methods": {"oidc": {"config": {"providers": [{
            "id": "x", "provider": "generic",
            "requested_claims": {"id_token": {"email": {"essential": true}, "email_verified": null}}
        }]}}}}
    });
    passes(&config);
    let bad_claims = json!({"selfservice": {"methods": {"oidc": {"config": {"providers": [{
        "requested_claims": {"access_token": {}}
    }]}}}}});
    assert_eq!(
        unknown_key(&bad_claims),
        "selfservice.methods.oidc.config.providers.0.requested_claims.access_token"
    );
    let bad_claim_field = json!({"selfservice": {"methods": {"oidc": {"config": {"providers": [{
        "requested_claims": {"userinfo": {"email": {"essentail": true}}}
    }]}}}}});
    assert_eq!(
        unknown_key(&bad_claim_field),
        "selfservice.methods.oidc.config.providers.0.requested_claims.userinfo.email.essentail"
    );
    let bad_template = json!({"session": {"whoami": {"tokenizer": {"templates": {
        "my_jwt": {"tll": "1m"}
    }}}}});
    assert_eq!(
        unknown_key(&bad_template),
        "session.whoami.tokenizer.templates.my_jwt.tll"
    );
}

#[test]
fn objects_listing_properties_without_additional_properties_are_strict() {
    // `ciphers` and `preview` omit `additionalProperties`; they are treated as closed.
    assert_eq!(
        unknown_key(&json!({"ciphers": {"algorithmm": "aes"}})),
        "ciphers.algorithmm"
    );
    assert_eq!(
        unknown_key(&json!({"selfservice": {"methods": {"link": {"config": {"lifespam": "1h"}}}}})),
        "selfservice.methods.link.config.lifespam"
    );
}

#[test]
fn webauthn_rp_branch_properties_are_known() {
    let config = json!({"selfservice": {"methods": {"webauthn": {"enabled": true, "config": {
        "passwordless": true,
        "rp": {"display_name": "X", "id": "x.org", "origins": ["https://x.org"]}
    }}}}});
    passes(&config);
}

#[test]
fn ostiary_section_is_checked_against_extension_schema() {
    assert_eq!(
        unknown_key(&json!({"ostiary": {"session": {"slidingg": true}}})),
        "ostiary.session.slidingg"
    );
    assert_eq!(
        unknown_key(&json!({"ostiary": {"bogus": 1}})),
        "ostiary.bogus"
    );
    assert!(passes(&json!({"ostiary": {"audit": {"sink_url": "x"}}})).is_empty());
}

#[test]
fn ostiary_section_without_extension_schema_is_unknown() {
    let err = check_keys(&json!({"ostiary": {}}), &json!(null), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { path } if path == "ostiary"));
}

#[test]
fn error_display_is_one_line_with_path() {
    let err = check_keys(
        &json!({"serve": {"public": {"prot": 1}}}),
        &json!(null),
        &[],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown configuration key `serve.public.prot`"
    );
}

#[test]
fn non_object_root_is_an_error_and_null_is_empty() {
    assert!(check_keys(&json!(null), &json!(null), &[])
        .unwrap()
        .is_empty());
    assert!(matches!(
        check_keys(&json!([1]), &json!(null), &[]),
        Err(ConfigError::InvalidValue { .. })
    ));
}

#[test]
fn hook_alternatives_are_told_apart_by_their_hook_name() {
    // `session` hooks take no `config`, although `web_hook` and `b2b_sso` hooks do.
    let config = json!({"selfservice": {"flows": {"registration": {"after": {"password": {
        "hooks": [{"hook": "session", "config": {}}]
    }}}}}});
    assert_eq!(
        unknown_key(&config),
        "selfservice.flows.registration.after.password.hooks.0.config"
    );
    let b2b = json!({"selfservice": {"flows": {"registration": {"after": {"password": {
        "hooks": [{"hook": "b2b_sso", "config": {"anything": 1}}]
    }}}}}});
    passes(&b2b);
}
