//! Random bearer secrets (API keys, checkout tokens) and their stored hashes.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A url-safe string of 256 random bits behind `prefix` (43 characters after it).
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a secret. SHA-256 is enough: secrets carry 256 bits of entropy, so
/// there is nothing to brute-force, and the hash is a fast indexed lookup.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
