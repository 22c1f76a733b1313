//! Decides whether a stored hash should be replaced by one made with the current configuration.

use super::config::{Algorithm, HasherConfig};
use super::{argon2_hash, bcrypt_hash};

/// True if `hash` was not produced by the configured algorithm with the
/// configured parameters, so a successful login should re-hash the password.
///
/// bcrypt: any other format, or a different cost (every bcrypt version prefix
/// counts as bcrypt). argon2: anything but argon2id, or a different memory,
/// iteration count, parallelism, salt length or key length. Hashes that do not
/// parse always need a re-hash.
pub fn needs_rehash(cfg: &HasherConfig, hash: &str) -> bool {
    match cfg.algorithm {
        Algorithm::Bcrypt => bcrypt_hash::parse(hash).map_or(true, |h| h.cost != cfg.bcrypt_cost),
        Algorithm::Argon2 => argon2_hash::parse(hash).map_or(true, |h| !h.matches(&cfg.argon2)),
    }
}
