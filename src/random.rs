//! Random strings from the operating system's random source.

use rand::distributions::Alphanumeric;
use rand::{rngs::OsRng, Rng};

/// `n` alphanumeric characters (≈ 5.95 bits each) from the OS random source.
pub fn alphanumeric(n: usize) -> String {
    OsRng
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}
