//! The Kratos-compatible configuration: files (YAML or JSON) merged in order, then environment
//! overrides by Kratos's convention, then checked key by key against Kratos's own config schema,
//! then read into the typed [`Config`].

pub mod layering;
mod model;

pub use model::*;

use serde_json::Value;
use std::path::PathBuf;

/// The JSON schema of Ostiary's own extension keys (`ostiary:`), used for environment overrides
/// (`OSTIARY_SESSION_SLIDING=true`) and unknown-key checks just like Kratos's keys.
pub const EXTENSION_SCHEMA: &str = include_str!("ostiary.schema.json");

/// Kratos keys Ostiary reads. Everything else Kratos knows is accepted with one warning line.
pub const IMPLEMENTED: &[&str] = &[
    "version",
    "dsn",
    "dev",
    // The command-line flags Kratos mirrors as keys (`--sqa-opt-out`, `--watch-courier`).
    "sqa-opt-out",
    "watch-courier",
    "serve.public.host",
    "serve.public.port",
    "serve.public.base_url",
    "serve.public.cors",
    "serve.admin.host",
    "serve.admin.port",
    "serve.admin.base_url",
    "selfservice.default_browser_return_url",
    "selfservice.allowed_return_urls",
    "selfservice.methods.password",
    "selfservice.methods.profile",
    "selfservice.flows.error.ui_url",
    "selfservice.flows.login.ui_url",
    "selfservice.flows.login.lifespan",
    "selfservice.flows.login.after.default_browser_return_url",
    "selfservice.flows.login.after.password.default_browser_return_url",
    "selfservice.flows.login.after.hooks",
    "selfservice.flows.login.after.password.hooks",
    "selfservice.flows.settings",
    "selfservice.flows.recovery",
    "selfservice.flows.verification",
    "selfservice.methods.code.config.lifespan",
    "selfservice.methods.link.config.lifespan",
    "selfservice.methods.code.enabled",
    "selfservice.methods.link.enabled",
    "courier.smtp",
    "courier.template_override_path",
    "courier.message_retries",
    "selfservice.flows.registration.enabled",
    "selfservice.flows.registration.ui_url",
    "selfservice.flows.registration.lifespan",
    "selfservice.flows.registration.after.default_browser_return_url",
    "selfservice.flows.registration.after.password.default_browser_return_url",
    "selfservice.flows.registration.after.password.hooks",
    "selfservice.flows.registration.after.hooks",
    "selfservice.flows.logout.after.default_browser_return_url",
    "session.lifespan",
    "session.earliest_possible_extend",
    "session.cookie",
    "session.whoami.required_aal",
    "cookies",
    "secrets.default",
    "secrets.cookie",
    "hashers",
    "identity",
    "feature_flags.faster_session_extend",
    "feature_flags.cacheable_sessions",
    "feature_flags.cacheable_sessions_max_age",
    "log",
    "ostiary",
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
            crate::persistence::DsnKind::parse(dsn).map_err(|e| invalid("dsn", e))?;
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
        match self.session.whoami.required_aal.as_str() {
            "aal1" | "highest_available" => {}
            other => {
                return Err(invalid(
                    "session.whoami.required_aal",
                    format!("must be \"aal1\" or \"highest_available\", got {other:?}"),
                ))
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
    use super::*;

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
