//! Configuration of the hasher used for new passwords (algorithm choice and its cost parameters).

/// Algorithm used to hash new passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// argon2id, stored in PHC form (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`).
    Argon2,
    /// bcrypt, stored as `$2a$<cost>$<salt><hash>`.
    Bcrypt,
}

/// Cost parameters for argon2id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes over the memory.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
    /// Length of the random salt in bytes.
    pub salt_length: u32,
    /// Length of the derived key in bytes.
    pub key_length: u32,
}

/// Everything needed to hash a new password and to decide whether a stored
/// hash should be upgraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HasherConfig {
    /// Algorithm for new hashes.
    pub algorithm: Algorithm,
    /// bcrypt cost (log2 of the number of rounds), 4..=31.
    pub bcrypt_cost: u32,
    /// argon2id parameters.
    pub argon2: Argon2Params,
}
