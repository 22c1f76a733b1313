//! Password hashing: the public API, format detection and dispatch to each supported hash family.
//!
//! New passwords are hashed with bcrypt or argon2id ([`hash_password`]). Stored
//! hashes in any format Ory Kratos can import are verified by
//! [`verify_password`]; [`is_importable`] checks a hash before it is stored and
//! [`needs_rehash`] tells whether a login should upgrade it.

mod argon2_hash;
mod bcrypt_hash;
mod config;
mod crypt3;
mod encoding;
mod error;
mod firebase_scrypt;
mod hmac_hash;
mod new;
mod pbkdf2_hash;
pub mod pool;
mod rehash;
mod salted_digest;
mod scrypt_hash;
mod ssha;

#[cfg(test)]
mod tests;

pub use config::{Algorithm, Argon2Params, HasherConfig};
pub use error::HashError;
pub use new::{check_params, hash_password};
pub use rehash::needs_rehash;

/// A stored hash whose format has been recognised and parsed.
enum Parsed<'a> {
    Bcrypt(bcrypt_hash::BcryptHash<'a>),
    Argon2(argon2_hash::Argon2Hash),
    Pbkdf2(pbkdf2_hash::Pbkdf2Hash),
    Scrypt(scrypt_hash::ScryptHash),
    FirebaseScrypt(firebase_scrypt::FirebaseScryptHash),
    Crypt(crypt3::CryptHash<'a>),
    Digest(salted_digest::DigestHash),
    Ssha(ssha::SshaHash),
    Hmac(hmac_hash::HmacHash),
}

/// Recognises the format by its prefix (the same prefixes Kratos accepts) and parses it.
fn parse(hash: &str) -> Result<Parsed<'_>, HashError> {
    if bcrypt_hash::has_prefix(hash) {
        bcrypt_hash::parse(hash).map(Parsed::Bcrypt)
    } else if hash.starts_with("$argon2id$") || hash.starts_with("$argon2i$") {
        argon2_hash::parse(hash).map(Parsed::Argon2)
    } else if pbkdf2_hash::has_prefix(hash) {
        pbkdf2_hash::parse(hash).map(Parsed::Pbkdf2)
    } else if hash.starts_with("$scrypt$") {
        scrypt_hash::parse(hash).map(Parsed::Scrypt)
    } else if hash.starts_with("$firescrypt$") {
        firebase_scrypt::parse(hash).map(Parsed::FirebaseScrypt)
    } else if crypt3::Scheme::from_prefix(hash).is_some() {
        crypt3::parse(hash).map(Parsed::Crypt)
    } else if salted_digest::DigestAlg::from_prefix(hash).is_some() {
        salted_digest::parse(hash).map(Parsed::Digest)
    } else if ssha::ShaAlg::from_prefix(hash).is_some() {
        ssha::parse(hash).map(Parsed::Ssha)
    } else if hmac_hash::has_prefix(hash) {
        hmac_hash::parse(hash).map(Parsed::Hmac)
    } else {
        Err(HashError::UnknownFormat)
    }
}

/// Verify a password against a stored hash in any supported format.
///
/// Returns `Ok(false)` for a wrong password, `Err(UnknownFormat)` for an
/// unrecognised prefix and `Err(Malformed)` for a recognised but broken hash.
/// A password longer than 72 bytes checked against a bcrypt hash gives
/// `Err(PasswordTooLong)`, as in Kratos. Digests are compared in constant time.
pub fn verify_password(password: &[u8], hash: &str) -> Result<bool, HashError> {
    match parse(hash)? {
        Parsed::Bcrypt(h) => h.verify(password),
        Parsed::Argon2(h) => h.verify(password),
        Parsed::Pbkdf2(h) => h.verify(password),
        Parsed::Scrypt(h) => h.verify(password),
        Parsed::FirebaseScrypt(h) => h.verify(password),
        Parsed::Crypt(h) => h.verify(password),
        Parsed::Digest(h) => h.verify(password),
        Parsed::Ssha(h) => h.verify(password),
        Parsed::Hmac(h) => h.verify(password),
    }
}

/// True if `hash` has a recognised prefix and parses, so it can be stored as
/// an imported password hash.
pub fn is_importable(hash: &str) -> bool {
    parse(hash).is_ok()
}
