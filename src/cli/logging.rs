//! The process's log lines (`log.*`), written to stderr: the level (`log.level`, unless
//! `RUST_LOG` says otherwise), `text` or `json` lines (`log.format`). Whether sensitive values
//! appear in them (`log.leak_sensitive_values`) is up to each line's author, through
//! [`crate::config::LogConfig::sensitive`].

use crate::config::LogConfig;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// Install the subscriber once for the process (later calls change nothing).
pub fn init(log: &LogConfig) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(log.level_directive().unwrap_or("info")));
    // Colours only on a terminal: a log file or collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = if log.is_json() {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The `log` section of the configuration files, with the `LOG_*` environment overrides. Read
/// before anything else so that every command logs as configured; a section that does not load
/// gives the defaults here, and `serve` then stops with the configuration error.
pub fn settings(files: &[PathBuf], env: impl IntoIterator<Item = (String, String)>) -> LogConfig {
    let mut raw = if files.is_empty() {
        Value::Object(Default::default())
    } else {
        crate::config::layering::load_files(files).unwrap_or(Value::Null)
    };
    if !raw.is_object() {
        raw = Value::Object(Default::default());
    }
    let log_env = env.into_iter().filter(|(k, _)| k.starts_with("LOG_"));
    let extension: Value = serde_json::from_str(crate::config::EXTENSION_SCHEMA)
        .expect("the extension schema is valid JSON");
    if crate::config::layering::apply_env(&mut raw, log_env, &extension).is_err() {
        return LogConfig::default();
    }
    raw.get("log")
        .cloned()
        .and_then(|log| serde_json::from_value(log).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_log_section_comes_from_the_files_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kratos.yml");
        std::fs::write(
            &file,
            "log:\n  level: warning\n  format: json\n  leak_sensitive_values: true\nserve:\n  public:\n    port: 1\n",
        )
        .unwrap();
        let log = settings(std::slice::from_ref(&file), env(&[]));
        assert_eq!(log.level_directive(), Some("warn"));
        assert!(log.is_json());
        assert!(log.leak_sensitive_values);
        // LOG_LEVEL overrides the file, as every Kratos key's variable does; other variables,
        // even broken ones, do not matter here.
        let log = settings(
            &[file],
            env(&[("LOG_LEVEL", "trace"), ("SERVE_PUBLIC_PORT", "not-a-port")]),
        );
        assert_eq!(log.level_directive(), Some("trace"));
        let log = settings(&[], env(&[("LOG_FORMAT", "json")]));
        assert!(log.is_json());
        assert_eq!(log.level_directive(), None);
        assert!(!log.leak_sensitive_values);
    }

    #[test]
    fn a_broken_file_gives_the_defaults() {
        let log = settings(&[PathBuf::from("/does/not/exist.yml")], env(&[]));
        assert!(!log.is_json());
        assert!(!log.leak_sensitive_values);
    }
}
