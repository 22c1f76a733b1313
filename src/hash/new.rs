//! Hashing of new passwords with the configured algorithm (argon2id or bcrypt).

use super::config::{Algorithm, HasherConfig};
use super::error::HashError;
use super::{argon2_hash, bcrypt_hash};

/// Hash a new password with the configured algorithm.
///
/// bcrypt produces `$2a$<cost>$...` and refuses passwords longer than 72 bytes
/// with [`HashError::PasswordTooLong`]; argon2 produces
/// `$argon2id$v=19$m=<KiB>,t=<iter>,p=<par>$<salt>$<hash>` (unpadded base64).
/// Whether new hashes can be made with these parameters, without making one.
pub fn check_params(cfg: &HasherConfig) -> Result<(), HashError> {
    match cfg.algorithm {
        Algorithm::Bcrypt => bcrypt_hash::check_cost(cfg.bcrypt_cost),
        Algorithm::Argon2 => argon2_hash::check_config(&cfg.argon2),
    }
}

pub fn hash_password(cfg: &HasherConfig, password: &[u8]) -> Result<String, HashError> {
    match cfg.algorithm {
        Algorithm::Bcrypt => bcrypt_hash::hash_new(password, cfg.bcrypt_cost),
        Algorithm::Argon2 => argon2_hash::hash_new(password, &cfg.argon2),
    }
}
