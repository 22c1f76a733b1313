//! The error type of the hash module; messages never contain passwords or hash material.

/// Errors returned by hashing and verification.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The stored hash does not start with any supported prefix.
    #[error("unknown password hash format")]
    UnknownFormat,
    /// The prefix is recognised but the rest of the hash cannot be used.
    #[error("malformed password hash: {0}")]
    Malformed(String),
    /// The password is longer than the algorithm can process faithfully.
    #[error("password is too long: at most {max} bytes are allowed")]
    PasswordTooLong {
        /// Maximum accepted length in bytes.
        max: usize,
    },
    /// The hasher configuration cannot produce a valid hash.
    #[error("invalid password hasher configuration: {0}")]
    InvalidConfig(String),
    /// An underlying primitive failed unexpectedly (e.g. the OS random source).
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Shorthand for [`HashError::Malformed`] with a static description.
pub(crate) fn malformed(what: &str) -> HashError {
    HashError::Malformed(what.to_owned())
}
