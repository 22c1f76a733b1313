//! The Kratos-compatible configuration: files (YAML or JSON) merged in order, then environment
//! overrides by Kratos's convention, then checked key by key against Kratos's own config schema,
//! then read into the typed [`Config`].

mod courier;
mod dsn;
pub mod layering;
mod model;

pub use courier::CourierConfig;
pub use dsn::DsnKind;
pub use model::*;

use serde_json::Value;
use std::path::PathBuf;

/// The JSON schema of Ostiary's own extension keys (`ostiary:`), used for environment overrides
/// (`OSTIARY_SESSION_SLIDING=true`) and unknown-key checks just like Kratos's keys.
pub const EXTENSION_SCHEMA: &str = include_str!("ostiary.schema.json");

/// Kratos keys Ostiary acts on (key-path prefixes; see [`layering::check_keys`] for the entry
/// syntax). Each entry here is read by code that changes behaviour; everything else Kratos knows
/// is in [`NOT_ACTED_ON`] and is accepted with one warning line naming it. A test walks Kratos's
/// whole configuration schema and fails for a key path in neither list, or in both.
///
/// Hook lists name the hooks the flows run: `hooks[session]` covers only `session` elements, so
/// any other hook configured in that list (a `web_hook`, say) is named in the warning.
pub const IMPLEMENTED: &[&str] = &[
    "dsn",
    "dev",
    // The command-line flags Kratos mirrors as keys (`--sqa-opt-out`, `--watch-courier`).
    "sqa-opt-out",
    "watch-courier",
    "serve.public.host",
    "serve.public.port",
    "serve.public.base_url",
    "serve.public.cors.enabled",
    "serve.public.cors.allowed_origins",
    "serve.public.cors.allowed_methods",
    "serve.public.cors.allowed_headers",
    "serve.public.cors.exposed_headers",
    "serve.public.cors.allow_credentials",
    "serve.public.cors.max_age",
    "serve.public.cors.debug",
    "serve.admin.host",
    "serve.admin.port",
    "serve.admin.base_url",
    "selfservice.default_browser_return_url",
    "selfservice.allowed_return_urls",
    "selfservice.methods.password.enabled",
    "selfservice.methods.password.config.min_password_length",
    "selfservice.methods.password.config.identifier_similarity_check_enabled",
    // Acted on by its own start-up warning: the breach check is unavailable.
    "selfservice.methods.password.config.haveibeenpwned_enabled",
    "selfservice.methods.profile.enabled",
    "selfservice.methods.totp.enabled",
    "selfservice.methods.totp.config.issuer",
    "selfservice.methods.lookup_secret.enabled",
    "selfservice.flows.login.after.webauthn.default_browser_return_url",
    "selfservice.flows.login.after.webauthn.hooks[require_verified_address]",
    "selfservice.flows.registration.after.webauthn.default_browser_return_url",
    "selfservice.flows.registration.after.webauthn.hooks[session]",
    "selfservice.flows.settings.after.webauthn.hooks[revoke_active_sessions]",
    "selfservice.flows.login.after.passkey.default_browser_return_url",
    "selfservice.flows.login.after.passkey.hooks[require_verified_address]",
    "selfservice.flows.registration.after.passkey.default_browser_return_url",
    "selfservice.flows.registration.after.passkey.hooks[session]",
    "selfservice.flows.settings.after.passkey.hooks[revoke_active_sessions]",
    "selfservice.methods.webauthn.enabled",
    "selfservice.methods.webauthn.config.passwordless",
    "selfservice.methods.webauthn.config.rp.id",
    "selfservice.methods.webauthn.config.rp.display_name",
    "selfservice.methods.webauthn.config.rp.origins",
    "selfservice.methods.webauthn.config.rp.origin",
    "selfservice.methods.passkey.enabled",
    "selfservice.methods.passkey.config.rp.id",
    "selfservice.methods.passkey.config.rp.display_name",
    "selfservice.methods.passkey.config.rp.origins",
    "selfservice.methods.code.config.lifespan",
    "selfservice.methods.link.config.lifespan",
    "selfservice.flows.error.ui_url",
    "selfservice.flows.login.ui_url",
    "selfservice.flows.login.lifespan",
    "selfservice.flows.login.after.default_browser_return_url",
    "selfservice.flows.login.after.hooks[require_verified_address]",
    "selfservice.flows.login.after.password.default_browser_return_url",
    "selfservice.flows.login.after.password.hooks[require_verified_address]",
    "selfservice.flows.registration.enabled",
    "selfservice.flows.registration.ui_url",
    "selfservice.flows.registration.lifespan",
    "selfservice.flows.registration.after.default_browser_return_url",
    "selfservice.flows.registration.after.password.default_browser_return_url",
    "selfservice.flows.registration.after.password.hooks[session]",
    "selfservice.flows.settings.ui_url",
    "selfservice.flows.settings.lifespan",
    "selfservice.flows.settings.privileged_session_max_age",
    "selfservice.flows.settings.required_aal",
    "selfservice.flows.settings.after.default_browser_return_url",
    "selfservice.flows.settings.after.password.hooks[revoke_active_sessions]",
    "selfservice.flows.recovery.enabled",
    "selfservice.flows.recovery.ui_url",
    "selfservice.flows.recovery.lifespan",
    "selfservice.flows.recovery.use",
    "selfservice.flows.recovery.notify_unknown_recipients",
    "selfservice.flows.verification.enabled",
    "selfservice.flows.verification.ui_url",
    "selfservice.flows.verification.lifespan",
    "selfservice.flows.verification.use",
    "selfservice.flows.verification.notify_unknown_recipients",
    "selfservice.flows.verification.after.default_browser_return_url",
    "selfservice.flows.logout.after.default_browser_return_url",
    "courier.smtp.connection_uri",
    "courier.smtp.client_cert_path",
    "courier.smtp.client_key_path",
    "courier.smtp.from_address",
    "courier.smtp.from_name",
    "courier.smtp.headers",
    "courier.smtp.local_name",
    "courier.template_override_path",
    "courier.message_retries",
    "session.lifespan",
    "session.earliest_possible_extend",
    "session.whoami.required_aal",
    "session.cookie",
    "cookies",
    "secrets.default",
    "secrets.cookie",
    "hashers.algorithm",
    "hashers.bcrypt.cost",
    "hashers.argon2.memory",
    "hashers.argon2.iterations",
    "hashers.argon2.parallelism",
    "hashers.argon2.salt_length",
    "hashers.argon2.key_length",
    "identity.default_schema_id",
    "identity.schemas.id",
    "identity.schemas.url",
    "feature_flags.faster_session_extend",
    "feature_flags.cacheable_sessions",
    "feature_flags.cacheable_sessions_max_age",
    "log.level",
    "log.format",
    "log.leak_sensitive_values",
    "log.redaction_text",
    "ostiary",
];

/// Kratos keys Ostiary knows it does not act on: accepted (and checked against Kratos's schema),
/// then named in the one start-up warning line. DIFFERENCES.md explains the notable ones.
pub const NOT_ACTED_ON: &[&str] = &[
    // Kratos reads `version` to tell which release a file was written for; any is accepted.
    "version",
    "help",
    "config",
    "revision",
    "expose-metrics-port",
    "serve.public.cors.options_passthrough",
    "serve.public.request_log",
    "serve.public.socket",
    "serve.public.tls",
    "serve.admin.request_log",
    "serve.admin.socket",
    "serve.admin.tls",
    "selfservice.methods.password.config.haveibeenpwned_host",
    "selfservice.methods.password.config.max_breaches",
    "selfservice.methods.password.config.ignore_network_errors",
    "selfservice.methods.password.config.migrate_hook",
    "selfservice.methods.code.enabled",
    "selfservice.methods.code.passwordless_enabled",
    "selfservice.methods.code.mfa_enabled",
    "selfservice.methods.code.config.max_submissions",
    "selfservice.methods.code.config.missing_credential_fallback_enabled",
    "selfservice.methods.link.enabled",
    "selfservice.methods.link.config.base_url",
    "selfservice.flows.login.after.webauthn.hooks[revoke_active_sessions]",
    "selfservice.flows.login.after.webauthn.hooks[verification]",
    "selfservice.flows.login.after.webauthn.hooks[show_verification_ui]",
    "selfservice.flows.registration.after.webauthn.hooks[show_verification_ui]",
    "selfservice.flows.settings.after.webauthn.default_browser_return_url",
    "selfservice.flows.login.after.passkey.hooks[revoke_active_sessions]",
    "selfservice.flows.login.after.passkey.hooks[verification]",
    "selfservice.flows.login.after.passkey.hooks[show_verification_ui]",
    "selfservice.flows.registration.after.passkey.hooks[show_verification_ui]",
    "selfservice.flows.settings.after.passkey.default_browser_return_url",
    "selfservice.methods.webauthn.config.rp.icon",
    "selfservice.methods.oidc",
    "selfservice.methods.b2b",
    // No flow runs hooks before it starts.
    "selfservice.flows.*.before",
    // Web hooks and organization (B2B SSO) hooks run nowhere, in any hook list.
    "selfservice.flows.*.after.hooks[web_hook]",
    "selfservice.flows.*.after.hooks[b2b_sso]",
    "selfservice.flows.*.after.hooks[organization]",
    "selfservice.flows.*.after.*.hooks[web_hook]",
    "selfservice.flows.*.after.*.hooks[b2b_sso]",
    "selfservice.flows.*.after.*.hooks[organization]",
    "selfservice.flows.login.style",
    "selfservice.flows.login.after.hooks[revoke_active_sessions]",
    "selfservice.flows.login.after.hooks[verification]",
    "selfservice.flows.login.after.hooks[show_verification_ui]",
    "selfservice.flows.login.after.password.hooks[revoke_active_sessions]",
    "selfservice.flows.login.after.password.hooks[verification]",
    "selfservice.flows.login.after.password.hooks[show_verification_ui]",
    "selfservice.flows.login.after.code",
    "selfservice.flows.login.after.totp",
    "selfservice.flows.login.after.lookup_secret",
    "selfservice.flows.login.after.oidc",
    "selfservice.flows.registration.login_hints",
    "selfservice.flows.registration.enable_legacy_one_step",
    "selfservice.flows.registration.style",
    "selfservice.flows.registration.after.hooks",
    "selfservice.flows.registration.after.password.hooks[show_verification_ui]",
    "selfservice.flows.registration.after.code",
    "selfservice.flows.registration.after.oidc",
    "selfservice.flows.settings.after.hooks",
    "selfservice.flows.settings.after.password.default_browser_return_url",
    "selfservice.flows.settings.after.profile",
    "selfservice.flows.settings.after.totp",
    "selfservice.flows.settings.after.lookup_secret",
    "selfservice.flows.settings.after.oidc",
    "selfservice.flows.recovery.after",
    "selfservice.flows.verification.after.hooks",
    "courier.templates",
    "courier.worker",
    "courier.delivery_strategy",
    "courier.http",
    "courier.channels",
    // `tokenize_as` has no tokenizer yet.
    "session.whoami.tokenizer",
    "secrets.cipher",
    "secrets.pagination",
    "hashers.argon2.expected_duration",
    "hashers.argon2.expected_deviation",
    // Ostiary bounds hashing memory with `ostiary.hashing.memory_budget` instead.
    "hashers.argon2.dedicated_memory",
    "identity.schemas.selfservice_selectable",
    "feature_flags.use_continue_with_transitions",
    "feature_flags.choose_recovery_address",
    "feature_flags.legacy_continue_with_verification_ui",
    "feature_flags.legacy_require_verified_login_error",
    "feature_flags.password_profile_registration_node_group",
    "feature_flags.legacy_oidc_registration_node_group",
    "database",
    "oauth2_provider",
    "preview",
    "tracing",
    "ciphers",
    "security",
    "clients",
    "organizations",
    "enterprise",
];

/// What loading produced: the typed config and the one warning line (if any) about Kratos keys
/// that are accepted but not acted on.
pub struct Loaded {
    pub config: Config,
    pub unimplemented: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Layering(#[from] layering::ConfigError),
    #[error("config key {path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// The command-line flags Kratos mirrors as configuration keys: when given, they set the key
/// (`--dev` sets `dev: true`), so a flag and its key behave the same.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub dev: bool,
    pub sqa_opt_out: bool,
    pub watch_courier: bool,
}

impl Config {
    /// Read the files, apply the environment and the flags, and check every key.
    pub fn load(
        files: &[PathBuf],
        flags: Flags,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, LoadError> {
        let mut raw = if files.is_empty() {
            Value::Object(Default::default())
        } else {
            layering::load_files(files)?
        };
        let extension: Value =
            serde_json::from_str(EXTENSION_SCHEMA).expect("the extension schema is valid JSON");
        layering::apply_env(&mut raw, env, &extension)?;
        if let Value::Object(map) = &mut raw {
            for (key, given) in [
                ("dev", flags.dev),
                ("sqa-opt-out", flags.sqa_opt_out),
                ("watch-courier", flags.watch_courier),
            ] {
                if given {
                    map.insert(key.into(), Value::Bool(true));
                }
            }
        }
        let unimplemented = layering::check_keys(&raw, &extension, IMPLEMENTED)?;
        layering::check_types(&raw)?;
        Self::from_value(raw).map(|config| Loaded {
            config,
            unimplemented,
        })
    }

    /// Build the typed config from an already-layered JSON value (tests use this directly).
    pub fn from_value(raw: Value) -> Result<Config, LoadError> {
        let config: Config = serde_path_to_error(raw)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), LoadError> {
        let invalid = |path: &str, reason: String| LoadError::Invalid {
            path: path.into(),
            reason,
        };
        if let Some(dsn) = &self.dsn {
            DsnKind::parse(dsn).map_err(|e| invalid("dsn", e))?;
        }
        for (path, url) in [
            ("serve.public.base_url", &self.serve.public.base_url),
            ("serve.admin.base_url", &self.serve.admin.base_url),
            (
                "selfservice.default_browser_return_url",
                &self.selfservice.default_browser_return_url,
            ),
        ] {
            if let Some(url) = url {
                url::Url::parse(url)
                    .map_err(|e| invalid(path, format!("{url:?} is not a URL: {e}")))?;
            }
        }
        if !self.dev && self.selfservice.default_browser_return_url.is_none() {
            return Err(invalid(
                "selfservice.default_browser_return_url",
                "is required (or run with --dev)".into(),
            ));
        }
        match self.hashers.algorithm.as_str() {
            "bcrypt" | "argon2" => {}
            other => {
                return Err(invalid(
                    "hashers.algorithm",
                    format!("must be \"argon2\" or \"bcrypt\", got {other:?}"),
                ))
            }
        }
        if !(4..=31).contains(&self.hashers.bcrypt.cost) {
            return Err(invalid(
                "hashers.bcrypt.cost",
                "must be between 4 and 31".into(),
            ));
        }
        let settings_aal = self.selfservice.flows.settings.required_aal.as_deref();
        for (key, value) in [
            (
                "session.whoami.required_aal",
                self.session.whoami.required_aal.as_str(),
            ),
            (
                "selfservice.flows.settings.required_aal",
                settings_aal.unwrap_or("highest_available"),
            ),
        ] {
            if !matches!(value, "aal1" | "highest_available") {
                return Err(invalid(
                    key,
                    format!("must be \"aal1\" or \"highest_available\", got {value:?}"),
                ));
            }
        }
        if let Some(n) = self.ostiary.hashing.niceness {
            if !(0..=19).contains(&n) {
                return Err(invalid(
                    "ostiary.hashing.niceness",
                    format!("must be between 0 and 19, got {n}"),
                ));
            }
        }
        if self.session.lifespan.0 <= chrono::Duration::zero() {
            return Err(invalid("session.lifespan", "must be positive".into()));
        }
        for (i, secret) in self
            .secrets
            .default
            .iter()
            .chain(&self.secrets.cookie)
            .enumerate()
        {
            if secret.len() < 16 {
                return Err(invalid(
                    "secrets",
                    format!("secret #{i} must be at least 16 characters long"),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.identity.schemas.iter().enumerate() {
            if !seen.insert(&s.id) {
                return Err(invalid(
                    &format!("identity.schemas.{i}.id"),
                    format!("duplicate schema id {:?}", s.id),
                ));
            }
        }
        Ok(())
    }

    pub fn is_dev(&self) -> bool {
        self.dev
    }
}

/// Deserialize, naming the key path of the first value of the wrong type.
fn serde_path_to_error(raw: Value) -> Result<Config, LoadError> {
    serde_path_to_error::deserialize(raw).map_err(|e| LoadError::Invalid {
        path: e.path().to_string(),
        reason: e.inner().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::layering::{best_coverage, display, parse_entry, schema_key_paths, Coverage};
    use super::*;
    use serde_json::json;

    fn entries(list: &'static [&'static str]) -> Vec<Vec<&'static str>> {
        list.iter().map(|e| parse_entry(e)).collect()
    }

    /// Every key path of Kratos's configuration schema (hook lists once per hook name) is either
    /// acted on or knowingly not, never both and never neither.
    #[test]
    fn every_kratos_key_is_acted_on_or_listed_as_not_acted_on() {
        let implemented = entries(IMPLEMENTED);
        let ignored = entries(NOT_ACTED_ON);
        let paths = schema_key_paths();
        assert!(paths.len() > 1000, "walked only {} paths", paths.len());
        let (mut neither, mut both) = (Vec::new(), Vec::new());
        for (path, leaf) in &paths {
            let acted = best_coverage(&implemented, path) == Coverage::Full;
            let not_acted = best_coverage(&ignored, path) == Coverage::Full;
            if acted && not_acted {
                both.push(display(path));
            } else if *leaf && !acted && !not_acted {
                neither.push(display(path));
            }
        }
        assert!(both.is_empty(), "in both lists: {both:#?}");
        assert!(neither.is_empty(), "in neither list: {neither:#?}");
    }

    /// A typo in either list would cover nothing (and hide the key it meant from the check).
    #[test]
    fn every_entry_names_a_kratos_key() {
        let paths = schema_key_paths();
        for entry in IMPLEMENTED.iter().chain(NOT_ACTED_ON) {
            if *entry == layering::EXTENSION_KEY {
                continue;
            }
            let parsed = [parse_entry(entry)];
            assert!(
                paths
                    .iter()
                    .any(|(path, _)| best_coverage(&parsed, path) == Coverage::Full),
                "{entry} names no key of the Kratos schema"
            );
        }
    }

    fn warned(config: Value) -> Vec<String> {
        let extension: Value = serde_json::from_str(EXTENSION_SCHEMA).unwrap();
        layering::check_keys(&config, &extension, IMPLEMENTED).unwrap()
    }

    #[test]
    fn hooks_that_no_flow_runs_are_named() {
        let got = warned(json!({"selfservice": {"flows": {
            "registration": {"after": {"password": {"hooks": [
                {"hook": "session"},
                {"hook": "web_hook", "config": {"url": "https://hooks.example.com/", "method": "POST", "body": "base64://e30="}}
            ]}}},
            "login": {
                "before": {"hooks": [{"hook": "web_hook", "config": {"url": "https://hooks.example.com/", "method": "GET", "body": "base64://e30="}}]},
                "after": {"hooks": [{"hook": "require_verified_address"}, {"hook": "revoke_active_sessions"}]}
            },
            "settings": {"after": {"password": {"hooks": [{"hook": "revoke_active_sessions"}]},
                                   "profile": {"hooks": [{"hook": "show_verification_ui"}]}}},
            "recovery": {"after": {"hooks": [{"hook": "revoke_active_sessions"}]}}
        }}}));
        assert_eq!(
            got,
            [
                "selfservice.flows.login.after.hooks[revoke_active_sessions]",
                "selfservice.flows.login.before.hooks[web_hook]",
                "selfservice.flows.recovery.after.hooks[revoke_active_sessions]",
                "selfservice.flows.registration.after.password.hooks[web_hook]",
                "selfservice.flows.settings.after.profile.hooks[show_verification_ui]",
            ]
        );
    }

    #[test]
    fn keys_read_nowhere_are_warned() {
        let got = warned(json!({
            "session": {"whoami": {"required_aal": "highest_available"}, "lifespan": "1h"},
            "selfservice": {
                "flows": {"settings": {"required_aal": "highest_available", "ui_url": "http://a.example/"}},
                "methods": {"password": {"enabled": true, "config": {"migrate_hook": {"enabled": false}, "min_password_length": 10}},
                            "profile": {"enabled": true}}
            },
            "courier": {"smtp": {"client_cert_path": "/c.pem", "client_key_path": "/k.pem"}},
            "hashers": {"argon2": {"dedicated_memory": "1GB", "memory": "64MB"}},
            "serve": {"public": {"cors": {"debug": true, "options_passthrough": true}}},
            "log": {"level": "debug", "format": "json", "leak_sensitive_values": false, "redaction_text": "x"}
        }));
        assert_eq!(
            got,
            [
                "hashers.argon2.dedicated_memory",
                "selfservice.methods.password.config.migrate_hook",
                "serve.public.cors.options_passthrough",
            ]
        );
    }

    #[test]
    fn cockroach_and_mysql_dsns_are_refused_with_the_alternatives() {
        for dsn in [
            "cockroach://root@127.0.0.1:26257/kratos?sslmode=disable",
            "cockroachdb://root@127.0.0.1:26257/kratos",
            "crdb://root@127.0.0.1:26257/kratos",
            "mysql://user:pw@tcp(127.0.0.1:3306)/kratos",
        ] {
            match Config::from_value(json!({"dev": true, "dsn": dsn})) {
                Err(LoadError::Invalid { path, reason }) => {
                    assert_eq!(path, "dsn");
                    assert!(reason.contains("not supported yet"), "{dsn}: {reason}");
                    assert!(
                        reason.contains("postgres://") && reason.contains("sqlite://"),
                        "{dsn}: {reason}"
                    );
                }
                Err(other) => panic!("{dsn}: {other}"),
                Ok(_) => panic!("{dsn} was accepted"),
            }
        }
        assert!(
            Config::from_value(json!({"dev": true, "dsn": "postgresql://127.0.0.1/k"})).is_ok()
        );
    }

    #[test]
    fn log_levels_map_to_tracing_levels() {
        let level = |l: &str| {
            LogConfig {
                level: Some(l.into()),
                ..Default::default()
            }
            .level_directive()
        };
        assert_eq!(level("trace"), Some("trace"));
        assert_eq!(level("warning"), Some("warn"));
        assert_eq!(level("fatal"), Some("error"));
        assert_eq!(level("panic"), Some("error"));
        assert_eq!(level("loud"), None);
        assert_eq!(LogConfig::default().level_directive(), None);
    }

    #[test]
    fn sensitive_values_are_redacted_unless_leaking_is_on() {
        let mut log = LogConfig::default();
        assert_eq!(log.sensitive("a@example.com"), DEFAULT_REDACTION_TEXT);
        assert_eq!(
            log.scrub("550 <a@example.com>: no such mailbox", "a@example.com"),
            format!("550 <{DEFAULT_REDACTION_TEXT}>: no such mailbox")
        );
        log.redaction_text = Some("[hidden]".into());
        assert_eq!(log.sensitive("a@example.com"), "[hidden]");
        log.leak_sensitive_values = true;
        assert_eq!(log.sensitive("a@example.com"), "a@example.com");
        assert_eq!(
            log.scrub("<a@example.com>", "a@example.com"),
            "<a@example.com>"
        );
    }
}
