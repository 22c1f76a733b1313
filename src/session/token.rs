//! Session and logout tokens: generated with ≥ 190 bits of entropy, shown to the client once, stored
//! only as SHA-256 digests so a database leak reveals no usable token.

use sha2::{Digest, Sha256};

pub const SESSION_PREFIX: &str = "ory_st_";
pub const LOGOUT_PREFIX: &str = "ory_lo_";

/// A new token: the prefix and 32 alphanumeric characters from the OS random source.
pub fn generate(prefix: &str) -> String {
    format!("{prefix}{}", crate::random::alphanumeric(32))
}

/// The digest under which a token is stored and looked up. Lookup by digest through a unique index
/// is an exact match on a value an attacker cannot choose, so no timing oracle on the token exists.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_prefix_and_length() {
        let t = generate(SESSION_PREFIX);
        assert!(t.starts_with("ory_st_"));
        assert_eq!(t.len(), 7 + 32);
        assert!(t[7..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(generate(SESSION_PREFIX), t);
    }

    #[test]
    fn digest_is_stable_hex() {
        assert_eq!(digest("a"), digest("a"));
        assert_ne!(digest("a"), digest("b"));
        assert_eq!(digest("a").len(), 64);
    }
}
