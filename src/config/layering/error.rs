//! The error type shared by every configuration-layering step (files, env, key and type checks).

use std::path::PathBuf;

/// Everything that can go wrong while loading, layering and checking a configuration.
///
/// Every variant renders as a single line that names the file, the environment variable
/// and/or the dotted key path it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A configuration file could not be read.
    #[error("cannot read configuration file {}: {source}", file.display())]
    Io {
        /// The file that could not be read.
        file: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// A configuration file is not valid YAML/JSON, or its top level is not a mapping.
    #[error("cannot parse configuration file {}: {message}", file.display())]
    Parse {
        /// The file that failed to parse.
        file: PathBuf,
        /// What the parser complained about (always a single line).
        message: String,
    },

    /// The configuration contains a key that the schema does not allow.
    #[error("unknown configuration key `{path}`")]
    UnknownKey {
        /// Dotted key path, array indices as numbers (`identity.schemas.0.bogus`).
        path: String,
    },

    /// A value does not satisfy the type/enum/range/pattern rules of its key.
    #[error("invalid value for configuration key `{path}`: {reason}")]
    InvalidValue {
        /// Dotted key path of the offending value.
        path: String,
        /// Human-readable, single-line reason.
        reason: String,
    },

    /// An environment variable matched a key but its value could not be used.
    #[error("environment variable {var} (configuration key `{path}`): {reason}")]
    Env {
        /// The environment variable's name as given.
        var: String,
        /// Dotted key path the variable maps to.
        path: String,
        /// Human-readable, single-line reason.
        reason: String,
    },
}

/// Collapses a multi-line message into one line, so that every `ConfigError` prints as one line.
pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
