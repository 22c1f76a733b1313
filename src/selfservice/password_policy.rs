//! The password policy of the password method: minimum length, the identifier-similarity check,
//! and a maximum length (the hasher's, bcrypt: 72 bytes, and never over [`MAX_PASSWORD_BYTES`]),
//! checked before any other work. The similarity check is quadratic, so it runs on a blocking
//! thread, never on the async runtime ([`check_blocking`]).

use super::text;
use super::ui::Message;
use crate::config::PasswordPolicy;

pub use crate::hash::pool::MAX_PASSWORD_BYTES;

/// [`check`] on a blocking thread.
pub async fn check_blocking(
    policy: &PasswordPolicy,
    max_bytes: Option<usize>,
    password: &str,
    identifiers: &[String],
) -> Option<Message> {
    let max = max_bytes
        .unwrap_or(MAX_PASSWORD_BYTES)
        .min(MAX_PASSWORD_BYTES);
    if password.len() > max {
        // Refused before any copy or thread hop.
        return Some(text::password_too_long(max, password.len()));
    }
    let (policy, password, identifiers) =
        (policy.clone(), password.to_string(), identifiers.to_vec());
    tokio::task::spawn_blocking(move || check(&policy, Some(max), &password, &identifiers))
        .await
        .unwrap_or_else(|_| Some(text::password_too_similar()))
}

/// The first policy violation of `password` for an identity with these identifiers.
pub fn check(
    policy: &PasswordPolicy,
    max_bytes: Option<usize>,
    password: &str,
    identifiers: &[String],
) -> Option<Message> {
    let len = password.len();
    let max = max_bytes
        .unwrap_or(MAX_PASSWORD_BYTES)
        .min(MAX_PASSWORD_BYTES);
    if len > max {
        return Some(text::password_too_long(max, len));
    }
    if len < policy.min_password_length {
        return Some(text::password_too_short(policy.min_password_length, len));
    }
    if policy.identifier_similarity_check_enabled {
        let pw = password.to_lowercase();
        for id in identifiers {
            if too_similar(&id.to_lowercase(), &pw) {
                return Some(text::password_too_similar());
            }
        }
    }
    None
}

/// Too similar when the edit distance is below 5, or the longest common substring covers more than
/// half the password.
fn too_similar(identifier: &str, password: &str) -> bool {
    if identifier.is_empty() {
        return false;
    }
    let a: Vec<char> = identifier.chars().collect();
    let b: Vec<char> = password.chars().collect();
    levenshtein(&a, &b) < 5
        || (longest_common_substring(&a, &b) as f64) / (b.len().max(1) as f64) > 0.5
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn longest_common_substring(a: &[char], b: &[char]) -> usize {
    let mut best = 0;
    let mut prev = vec![0usize; b.len() + 1];
    for ca in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                cur[j + 1] = prev[j] + 1;
                best = best.max(cur[j + 1]);
            }
        }
        prev = cur;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_password_is_longer_than_the_cap() {
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        let m = check(&policy(), None, &long, &["someone@example.com".into()]).unwrap();
        assert_eq!(m.id, 4000033);
        assert!(check(&policy(), Some(1 << 20), &long, &[]).is_some());
        assert!(check(&policy(), None, &"a1b2 c3d4 ".repeat(400), &[]).is_none());
    }

    fn policy() -> PasswordPolicy {
        PasswordPolicy::default()
    }

    #[test]
    fn length_limits() {
        assert_eq!(check(&policy(), None, "short", &[]).unwrap().id, 4000032);
        assert_eq!(
            check(&policy(), Some(72), &"a1b2c3d4e5".repeat(8), &[])
                .unwrap()
                .id,
            4000033
        );
        assert!(check(&policy(), Some(72), "a perfectly fine passphrase", &[]).is_none());
    }

    #[test]
    fn similarity() {
        let ids = vec!["alice@example.com".to_string()];
        assert_eq!(
            check(&policy(), None, "alice@example.com1", &ids)
                .unwrap()
                .id,
            4000031
        );
        assert_eq!(
            check(&policy(), None, "alice@exampleXYZ", &ids).unwrap().id,
            4000031
        );
        assert!(check(&policy(), None, "correct horse battery staple", &ids).is_none());
        let mut p = policy();
        p.identifier_similarity_check_enabled = false;
        assert!(check(&p, None, "alice@example.com1", &ids).is_none());
    }

    #[test]
    fn distances() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(levenshtein(&c("kitten"), &c("sitting")), 3);
        assert_eq!(longest_common_substring(&c("abcdef"), &c("zcdez")), 3);
    }
}
