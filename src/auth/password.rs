//! Consumer passwords: a minimum policy, argon2id hashing off the async runtime, and
//! verification that takes as long for an unknown account as for a known one.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

/// Shortest password accepted.
pub const MIN_LEN: usize = 10;
/// Longest password accepted (hashing cost must stay bounded).
pub const MAX_LEN: usize = 128;

/// Why a password is refused at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyViolation {
    /// Shorter than [`MIN_LEN`] or longer than [`MAX_LEN`] characters.
    Length,
    /// One character repeated, or the email address itself.
    Guessable,
}

/// Checks the minimum policy: 10 to 128 characters, not one character repeated, not the
/// email address.
pub fn check_policy(password: &str, email: &str) -> Result<(), PolicyViolation> {
    let length = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&length) {
        return Err(PolicyViolation::Length);
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) || password.eq_ignore_ascii_case(email) {
        return Err(PolicyViolation::Guessable);
    }
    Ok(())
}

/// Hashes a password with argon2id (default parameters) on a blocking thread.
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("cannot hash a password: {err}"))
    })
    .await?
}

/// A hash of a random password, verified against when the account does not exist so that
/// both answers take the same time.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9R2y3p5R5pVnY8rXQm3m2o4b9cZb9y8d2kQe1Xx0bOQ";

/// Whether `password` matches `stored`; with no stored hash, spends the same time and says no.
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    let password = password.to_owned();
    let known = stored.is_some();
    let stored = stored.unwrap_or(DECOY_HASH).to_owned();
    tokio::task::spawn_blocking(move || {
        let Ok(hash) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_long_and_guessable_passwords() {
        assert_eq!(check_policy("short", "a@b.c"), Err(PolicyViolation::Length));
        assert_eq!(
            check_policy(&"x".repeat(129), "a@b.c"),
            Err(PolicyViolation::Length)
        );
        assert_eq!(
            check_policy("aaaaaaaaaaaa", "a@b.c"),
            Err(PolicyViolation::Guessable)
        );
        assert_eq!(
            check_policy("Ada@Example.com", "ada@example.com"),
            Err(PolicyViolation::Guessable)
        );
        assert_eq!(check_policy("correct horse battery", "a@b.c"), Ok(()));
    }

    #[tokio::test]
    async fn hashes_verify_and_the_decoy_never_does() {
        let stored = hash("correct horse battery").await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&stored)).await);
        assert!(!verify("wrong horse battery", Some(&stored)).await);
        assert!(!verify("anything at all", None).await);
        assert!(
            PasswordHash::new(DECOY_HASH).is_ok(),
            "the decoy must parse, or it costs no time"
        );
    }
}
