//! Tests for environment-variable overrides.

use serde_json::{json, Value};

use super::super::{apply_env, check_keys, check_types, env_var_path, ConfigError};
use super::fixtures::{extension_schema, full_config};

fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn applied(list: &[(&str, &str)]) -> Value {
    let mut config = json!({});
    apply_env(&mut config, vars(list), &extension_schema()).unwrap();
    config
}

fn path_of(name: &str) -> Option<String> {
    env_var_path(name, &extension_schema())
}

#[test]
fn dsn() {
    assert_eq!(applied(&[("DSN", "memory")]), json!({"dsn": "memory"}));
}

#[test]
fn serve_public_port_is_cast_to_integer() {
    assert_eq!(
        applied(&[("SERVE_PUBLIC_PORT", "4433")]),
        json!({"serve": {"public": {"port": 4433}}})
    );
}

#[test]
fn serve_public_port_bad_value_names_var_and_key() {
    let mut config = json!({});
    let err = apply_env(
        &mut config,
        vars(&[("SERVE_PUBLIC_PORT", "http")]),
        &json!(null),
    )
    .unwrap_err();
    match &err {
        ConfigError::Env { var, path, .. } => {
            assert_eq!(var, "SERVE_PUBLIC_PORT");
            assert_eq!(path, "serve.public.port");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("SERVE_PUBLIC_PORT") && text.contains("serve.public.port"),
        "{text}"
    );
    assert!(text.contains("integer"), "{text}");
}

#[test]
fn serve_public_base_url() {
    assert_eq!(
        applied(&[("SERVE_PUBLIC_BASE_URL", "https://auth.example.org/")]),
        json!({"serve": {"public": {"base_url": "https://auth.example.org/"}}})
    );
}

#[test]
fn selfservice_default_browser_return_url_and_flow_ui_url() {
    let config = applied(&[
        ("SELFSERVICE_DEFAULT_BROWSER_RETURN_URL", "https://app/"),
        ("SELFSERVICE_FLOWS_LOGIN_UI_URL", "https://app/login"),
    ]);
    assert_eq!(
        config,
        json!({"selfservice": {
            "default_browser_return_url": "https://app/",
            "flows": {"login": {"ui_url": "https://app/login"}}
        }})
    );
}

#[test]
fn secrets_cookie_comma_separated() {
    assert_eq!(
        applied(&[("SECRETS_COOKIE", "a,b")]),
        json!({"secrets": {"cookie": ["a", "b"]}})
    );
}

#[test]
fn secrets_cookie_json_array() {
    assert_eq!(
        applied(&[("SECRETS_COOKIE", r#"["a,with,commas", "b"]"#)]),
        json!({"secrets": {"cookie": ["a,with,commas", "b"]}})
    );
}

#[test]
fn allowed_return_urls_comma_separated_and_trimmed() {
    assert_eq!(
        applied(&[("SELFSERVICE_ALLOWED_RETURN_URLS", "https://x, https://y")]),
        json!({"selfservice": {"allowed_return_urls": ["https://x", "https://y"]}})
    );
}

#[test]
fn array_env_replaces_file_array() {
    let mut config = json!({"secrets": {"cookie": ["old1", "old2", "old3"]}});
    apply_env(
        &mut config,
        vars(&[("SECRETS_COOKIE", "new")]),
        &json!(null),
    )
    .unwrap();
    assert_eq!(config, json!({"secrets": {"cookie": ["new"]}}));
}

#[test]
fn whole_array_then_element_override() {
    // Shallower paths are applied first, whatever the iteration order.
    assert_eq!(
        applied(&[("SECRETS_COOKIE_1", "z"), ("SECRETS_COOKIE", "a,b,c")]),
        json!({"secrets": {"cookie": ["a", "z", "c"]}})
    );
}

#[test]
fn identity_schemas_element_created_by_index() {
    assert_eq!(
        applied(&[
            ("IDENTITY_SCHEMAS_0_URL", "file:///etc/identity.schema.json"),
            ("IDENTITY_SCHEMAS_0_ID", "default"),
        ]),
        json!({"identity": {"schemas": [
            {"id": "default", "url": "file:///etc/identity.schema.json"}
        ]}})
    );
}

#[test]
fn identity_schemas_element_overrides_existing_field_only() {
    let mut config = json!({"identity": {"schemas": [
        {"id": "default", "url": "file:///a.json"},
        {"id": "other", "url": "file:///b.json"}
    ]}});
    apply_env(
        &mut config,
        vars(&[("IDENTITY_SCHEMAS_1_URL", "file:///c.json")]),
        &json!(null),
    )
    .unwrap();
    assert_eq!(
        config["identity"]["schemas"][1],
        json!({"id": "other", "url": "file:///c.json"})
    );
    assert_eq!(config["identity"]["schemas"][0]["url"], "file:///a.json");
}

#[test]
fn identity_schema_gap_is_filled_with_null() {
    let config = applied(&[("IDENTITY_SCHEMAS_1_ID", "second")]);
    assert_eq!(
        config,
        json!({"identity": {"schemas": [null, {"id": "second"}]}})
    );
}

#[test]
fn identity_default_schema_id() {
    assert_eq!(
        applied(&[("IDENTITY_DEFAULT_SCHEMA_ID", "customer")]),
        json!({"identity": {"default_schema_id": "customer"}})
    );
}

#[test]
fn registration_after_password_hooks_as_json() {
    let config = applied(&[(
        "SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS",
        r#"[{"hook":"session"},{"hook":"show_verification_ui"}]"#,
    )]);
    assert_eq!(
        config,
        json!({"selfservice": {"flows": {"registration": {"after": {"password": {"hooks": [
            {"hook": "session"}, {"hook": "show_verification_ui"}
        ]}}}}}})
    );
}

#[test]
fn hooks_without_json_is_an_error() {
    let mut config = json!({});
    let err = apply_env(
        &mut config,
        vars(&[(
            "SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS",
            "session",
        )]),
        &json!(null),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Env { path, .. } if path == "selfservice.flows.registration.after.password.hooks"),
        "{err}"
    );
}

#[test]
fn hook_element_field_by_index() {
    assert_eq!(
        path_of("SELFSERVICE_FLOWS_LOGIN_AFTER_PASSWORD_HOOKS_0_HOOK").as_deref(),
        Some("selfservice.flows.login.after.password.hooks.0.hook")
    );
    assert_eq!(
        path_of("SELFSERVICE_FLOWS_LOGIN_AFTER_HOOKS_0_CONFIG_URL").as_deref(),
        Some("selfservice.flows.login.after.hooks.0.config.url")
    );
}

#[test]
fn courier_smtp_connection_uri() {
    assert_eq!(
        applied(&[("COURIER_SMTP_CONNECTION_URI", "smtps://u:p@mail:465/")]),
        json!({"courier": {"smtp": {"connection_uri": "smtps://u:p@mail:465/"}}})
    );
}

#[test]
fn session_cookie_same_site_and_name() {
    assert_eq!(
        applied(&[
            ("SESSION_COOKIE_SAME_SITE", "Strict"),
            ("SESSION_COOKIE_NAME", "sid")
        ]),
        json!({"session": {"cookie": {"same_site": "Strict", "name": "sid"}}})
    );
}

#[test]
fn session_lifespan_string() {
    assert_eq!(
        applied(&[("SESSION_LIFESPAN", "720h")]),
        json!({"session": {"lifespan": "720h"}})
    );
}

#[test]
fn booleans_are_cast() {
    assert_eq!(
        applied(&[
            ("LOG_LEAK_SENSITIVE_VALUES", "true"),
            ("SERVE_PUBLIC_CORS_ENABLED", "0"),
            ("SESSION_COOKIE_PERSISTENT", "FALSE"),
        ]),
        json!({
            "log": {"leak_sensitive_values": true},
            "serve": {"public": {"cors": {"enabled": false}}},
            "session": {"cookie": {"persistent": false}}
        })
    );
}

#[test]
fn bad_boolean_is_an_error() {
    let mut config = json!({});
    let err = apply_env(&mut config, vars(&[("DEV", "maybe")]), &json!(null)).unwrap_err();
    assert!(matches!(&err, ConfigError::Env { var, path, .. } if var == "DEV" && path == "dev"));
}

#[test]
fn cookie_secure_is_a_string_in_the_schema() {
    assert_eq!(
        applied(&[("SESSION_COOKIE_SECURE", "true")]),
        json!({"session": {"cookie": {"secure": "true"}}})
    );
}

#[test]
fn object_keys_take_json_and_merge() {
    let mut config = json!({"serve": {"public": {"cors": {"enabled": true, "debug": true}}}});
    apply_env(
        &mut config,
        vars(&[(
            "SERVE_PUBLIC_CORS",
            r#"{"debug": false, "allowed_origins": ["*"]}"#,
        )]),
        &json!(null),
    )
    .unwrap();
    assert_eq!(
        config,
        json!({"serve": {"public": {"cors": {"enabled": true, "debug": false, "allowed_origins": ["*"]}}}})
    );
}

#[test]
fn object_key_with_non_json_is_an_error() {
    let mut config = json!({});
    let err = apply_env(
        &mut config,
        vars(&[("SERVE_PUBLIC_CORS", "yes")]),
        &json!(null),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Env { path, .. } if path == "serve.public.cors"),
        "{err}"
    );
}

#[test]
fn integer_array_elements_are_cast() {
    // `selfservice.methods.code.config.max_submissions` is an integer with bounds 1..255.
    assert_eq!(
        applied(&[("SELFSERVICE_METHODS_CODE_CONFIG_MAX_SUBMISSIONS", "5")]),
        json!({"selfservice": {"methods": {"code": {"config": {"max_submissions": 5}}}}})
    );
}

#[test]
fn unrelated_variables_are_ignored() {
    let config = applied(&[
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/root"),
        ("CI", "true"),
        ("SERVE_PUBLIC_PROT", "1"),
        ("SERVE_PUBLIC_PORT_", "1"),
        ("SERVE_", "1"),
        ("_DSN", "x"),
        ("IDENTITY_SCHEMAS_X_ID", "x"),
        ("IDENTITY_SCHEMAS_0_BOGUS", "x"),
        ("DSN_EXTRA", "x"),
        ("", "x"),
    ]);
    assert_eq!(config, json!({}));
}

#[test]
fn names_are_case_insensitive_like_kratos() {
    assert_eq!(applied(&[("dsn", "memory")]), json!({"dsn": "memory"}));
    assert_eq!(
        path_of("Serve_Public_Port").as_deref(),
        Some("serve.public.port")
    );
}

#[test]
fn dashed_keys_accept_dash_or_underscore() {
    assert_eq!(path_of("SQA-OPT-OUT").as_deref(), Some("sqa-opt-out"));
    assert_eq!(path_of("SQA_OPT_OUT").as_deref(), Some("sqa-opt-out"));
    assert_eq!(
        path_of("EXPOSE_METRICS_PORT").as_deref(),
        Some("expose-metrics-port")
    );
}

#[test]
fn longest_property_name_wins() {
    assert_eq!(
        path_of("COURIER_TEMPLATES_RECOVERY_CODE_VALID_EMAIL_BODY_HTML").as_deref(),
        Some("courier.templates.recovery_code.valid.email.body.html")
    );
    assert_eq!(
        path_of("COURIER_TEMPLATES_RECOVERY_VALID_EMAIL_SUBJECT").as_deref(),
        Some("courier.templates.recovery.valid.email.subject")
    );
    assert_eq!(
        path_of("FEATURE_FLAGS_CACHEABLE_SESSIONS_MAX_AGE").as_deref(),
        Some("feature_flags.cacheable_sessions_max_age")
    );
    assert_eq!(
        path_of("FEATURE_FLAGS_CACHEABLE_SESSIONS").as_deref(),
        Some("feature_flags.cacheable_sessions")
    );
    assert_eq!(
        path_of("SELFSERVICE_METHODS_OIDC_CONFIG_PROVIDERS_0_APPLE_PRIVATE_KEY_ID").as_deref(),
        Some("selfservice.methods.oidc.config.providers.0.apple_private_key_id")
    );
}

#[test]
fn refs_and_combinators_are_followed() {
    // $ref: selfServiceAfterSettings → selfServiceAfterSettingsAuthMethod.
    assert_eq!(
        path_of("SELFSERVICE_FLOWS_SETTINGS_AFTER_PASSWORD_DEFAULT_BROWSER_RETURN_URL").as_deref(),
        Some("selfservice.flows.settings.after.password.default_browser_return_url")
    );
    // tlsx.key is `allOf: [$ref tlsxSource]`.
    assert_eq!(
        path_of("SERVE_ADMIN_TLS_KEY_PATH").as_deref(),
        Some("serve.admin.tls.key.path")
    );
    // hook items are `anyOf` of several $refs; web_hook's auth is a `oneOf`.
    assert_eq!(
        path_of("SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS_0_CONFIG_AUTH_CONFIG_USER")
            .as_deref(),
        Some("selfservice.flows.registration.after.password.hooks.0.config.auth.config.user")
    );
}

#[test]
fn forbidden_additional_properties_property_is_not_matched() {
    // The Kratos schema lists `additionalProperties: false` *inside* `properties` in a few
    // places, declaring a property literally named "additionalProperties" whose schema is `false`.
    assert_eq!(
        path_of("COURIER_HTTP_REQUEST_CONFIG_ADDITIONALPROPERTIES"),
        None
    );
    assert_eq!(
        path_of("COURIER_HTTP_REQUEST_CONFIG_URL").as_deref(),
        Some("courier.http.request_config.url")
    );
}

#[test]
fn map_valued_objects_are_set_whole() {
    assert_eq!(path_of("COURIER_SMTP_HEADERS_X_FOO"), None);
    assert_eq!(
        applied(&[("COURIER_SMTP_HEADERS", r#"{"X-Foo": "bar"}"#)]),
        json!({"courier": {"smtp": {"headers": {"X-Foo": "bar"}}}})
    );
}

#[test]
fn tracing_uses_builtin_stand_in_schema() {
    assert_eq!(
        applied(&[
            ("TRACING_PROVIDER", "otel"),
            ("TRACING_PROVIDERS_OTLP_INSECURE", "true"),
            ("TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO", "0.5"),
        ]),
        json!({"tracing": {
            "provider": "otel",
            "providers": {"otlp": {"insecure": true, "sampling": {"sampling_ratio": 0.5}}}
        }})
    );
}

#[test]
fn ostiary_extension_keys() {
    assert_eq!(
        applied(&[
            ("OSTIARY_SESSION_SLIDING", "true"),
            ("OSTIARY_SESSION_MAX_SESSIONS_PER_IDENTITY", "3"),
            ("OSTIARY_TRUSTED_PROXIES", "10.0.0.1,10.0.0.2"),
            ("OSTIARY_AUDIT_SINK_URL", "https://audit/"),
        ]),
        json!({"ostiary": {
            "session": {"sliding": true, "max_sessions_per_identity": 3},
            "trusted_proxies": ["10.0.0.1", "10.0.0.2"],
            "audit": {"sink_url": "https://audit/"}
        }})
    );
}

#[test]
fn ostiary_bad_value_names_extension_path() {
    let mut config = json!({});
    let err = apply_env(
        &mut config,
        vars(&[("OSTIARY_SESSION_SLIDING", "sometimes")]),
        &extension_schema(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Env { path, .. } if path == "ostiary.session.sliding"),
        "{err}"
    );
}

#[test]
fn ostiary_ignored_without_extension_schema() {
    let mut config = json!({});
    apply_env(
        &mut config,
        vars(&[("OSTIARY_SESSION_SLIDING", "true")]),
        &json!(null),
    )
    .unwrap();
    assert_eq!(config, json!({}));
}

#[test]
fn huge_index_is_refused() {
    let mut config = json!({});
    let err = apply_env(
        &mut config,
        vars(&[("IDENTITY_SCHEMAS_99999_ID", "x")]),
        &json!(null),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }));
}

#[test]
fn env_over_full_config_still_passes_checks() {
    let mut config = full_config();
    apply_env(
        &mut config,
        vars(&[
            ("SERVE_PUBLIC_PORT", "4455"),
            ("SESSION_COOKIE_SAME_SITE", "None"),
            ("IDENTITY_SCHEMAS_1_URL", "file:///other.json"),
            ("OSTIARY_SESSION_SLIDING", "false"),
        ]),
        &extension_schema(),
    )
    .unwrap();
    assert_eq!(config["serve"]["public"]["port"], json!(4455));
    assert_eq!(config["identity"]["schemas"][1]["id"], json!("employee"));
    assert_eq!(config["ostiary"]["session"]["sliding"], json!(false));
    check_keys(&config, &extension_schema(), &[]).unwrap();
    check_types(&config).unwrap();
}

/// Every key path of the Kratos schema (array elements as index 0), for the round-trip test.
fn all_schema_paths() -> Vec<Vec<String>> {
    use super::super::schema::{declared_properties, item_schemas, Node};
    fn walk(set: &[Node<'_>], path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if path.len() > 14 {
            return;
        }
        if !path.is_empty() {
            out.push(path.clone());
        }
        for (name, schemas) in declared_properties(set) {
            path.push(name.to_owned());
            walk(&schemas, path, out);
            path.pop();
        }
        if let Some(items) = item_schemas(set, 0) {
            path.push("0".to_owned());
            walk(&items, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(&[Node::kratos()], &mut Vec::new(), &mut out);
    out
}

#[test]
fn every_schema_key_path_round_trips_through_its_variable_name() {
    let paths = all_schema_paths();
    assert!(paths.len() > 1000, "walked only {} paths", paths.len());
    for path in paths {
        let name = path.join("_").to_ascii_uppercase();
        assert_eq!(
            env_var_path(&name, &json!(null)),
            Some(path.join(".")),
            "variable {name}"
        );
    }
}
