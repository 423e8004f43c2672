//! Merchant API keys: random secrets shown once, stored only as a SHA-256 hash.
//!
//! A key looks like `sk_test_<43 url-safe characters>` (`sk_live_` in production).
//! The first characters are kept as a prefix so a merchant can tell keys apart.

use super::secret::{hash_secret, random_secret};

/// How many leading characters of a key are stored in clear to identify it.
pub const PREFIX_LEN: usize = 16;

/// The built-in key of the demo merchant. Production refuses to seed it.
pub const DEMO_API_KEY: &str = "sk_test_demo_0000000000000000000000000000000000";

/// A newly generated key: the secret goes to the merchant once, the rest is stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The full secret; never stored.
    pub secret: String,
    /// Leading characters kept for display.
    pub prefix: String,
    /// SHA-256 of the secret, hex-encoded; the lookup key.
    pub hash: String,
}

impl NewApiKey {
    /// Generates a key with 256 bits of randomness.
    pub fn generate(live: bool) -> Self {
        let prefix = if live { "sk_live_" } else { "sk_test_" };
        Self::from_secret(random_secret(prefix))
    }

    /// Wraps a known secret (the demo key).
    pub fn from_secret(secret: String) -> Self {
        Self {
            prefix: secret.chars().take(PREFIX_LEN).collect(),
            hash: hash_secret(&secret),
            secret,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_and_hash_consistently() {
        let a = NewApiKey::generate(false);
        let b = NewApiKey::generate(false);
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with("sk_test_"));
        assert_eq!(a.secret.len(), 8 + 43);
        assert_eq!(a.hash, hash_secret(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert_eq!(a.prefix, a.secret[..PREFIX_LEN]);
    }
}
