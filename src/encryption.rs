//! Encryption at rest for sensitive columns (consumer PII, later TOTP secrets, gateway
//! tokens, webhook secrets): AES-256-GCM in a versioned envelope naming its key, and keyed
//! hashes (HMAC-SHA256) that find a row by a value without storing the value in clear.
//!
//! Envelope: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The associated data binds
//! each ciphertext to its column and row, so a value copied to another row or column fails
//! to decrypt. Several keys may be configured: the first encrypts, every one decrypts, and
//! `paylater rotate-keys` re-encrypts old rows under the first.

use std::collections::HashMap;

use aes_gcm::{
    Aes256Gcm, Nonce,
    aead::{Aead, KeyInit, Payload},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Key id of the built-in development key.
pub const DEV_KEY_ID: &str = "dev";
/// The built-in development key (hex). It is public, so production refuses it.
pub const DEV_KEY_HEX: &str = "6465762d6f6e6c792d6b65792d7061796c617465722d30303030303030303030";

/// One configured encryption key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionKeyConfig {
    /// Short id written into every envelope (letters, digits, `-`, `_`).
    pub id: String,
    /// 32 random bytes as 64 hex digits, e.g. from `openssl rand -hex 32`. Secret: its
    /// `Debug` is redacted and it is never serialized.
    #[serde(skip_serializing)]
    pub key_hex: SecretString,
}

/// Why the keys cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// No key configured.
    #[error("no encryption key is configured")]
    Missing,
    /// A key is not 64 hex digits.
    #[error("encryption key {0}: key_hex must be 64 hex digits (32 bytes)")]
    Malformed(String),
    /// A key id has characters the envelope cannot carry.
    #[error("encryption key id {0:?}: use letters, digits, '-' and '_' only")]
    BadId(String),
    /// Two keys share an id.
    #[error("encryption key id {0} is used twice")]
    Duplicate(String),
}

/// Why a stored value could not be decrypted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecryptError {
    /// Not an envelope this version writes.
    #[error("not an encrypted value")]
    Malformed,
    /// Encrypted under a key that is not configured.
    #[error("encrypted under unknown key {0}")]
    UnknownKey(String),
    /// Tampered with, moved to another row or column, or encrypted under another key.
    #[error("the value does not authenticate")]
    Forged,
}

/// The configured keys.
pub struct Vault {
    current: String,
    ciphers: HashMap<String, Aes256Gcm>,
    lookup: Hmac<Sha256>,
}

/// The 32 bytes of the key `id` written as `key_hex`.
fn parse_key(id: &str, key_hex: &SecretString) -> Result<[u8; 32], KeyError> {
    let malformed = || KeyError::Malformed(id.to_owned());
    let bytes = hex::decode(key_hex.expose_secret().trim()).map_err(|_| malformed())?;
    bytes.try_into().map_err(|_| malformed())
}

impl Vault {
    /// The vault of the built-in development key.
    pub fn development() -> Result<Self, KeyError> {
        let dev = EncryptionKeyConfig {
            id: DEV_KEY_ID.to_owned(),
            key_hex: DEV_KEY_HEX.into(),
        };
        Self::new(&[dev], None)
    }

    /// The vault of the configured keys; the first encrypts. Lookup hashes use
    /// `lookup_key_hex`, which must stay the same across encryption key rotations (stored
    /// hashes would no longer match); without it, a key derived from the first key is used,
    /// which is fine until the first key is replaced.
    pub fn new(
        keys: &[EncryptionKeyConfig],
        lookup_key_hex: Option<&SecretString>,
    ) -> Result<Self, KeyError> {
        let first = keys.first().ok_or(KeyError::Missing)?;
        let mut ciphers = HashMap::new();
        for key in keys {
            if key.id.is_empty()
                || !key
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(KeyError::BadId(key.id.clone()));
            }
            let bytes = parse_key(&key.id, &key.key_hex)?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| KeyError::Malformed(key.id.clone()))?;
            if ciphers.insert(key.id.clone(), cipher).is_some() {
                return Err(KeyError::Duplicate(key.id.clone()));
            }
        }
        let lookup_key = match lookup_key_hex {
            Some(hex_key) => parse_key("lookup", hex_key)?.to_vec(),
            None => {
                let mut derive =
                    Hmac::<Sha256>::new_from_slice(&parse_key(&first.id, &first.key_hex)?)
                        .map_err(|_| KeyError::Malformed(first.id.clone()))?;
                derive.update(b"paylater lookup hash v1");
                derive.finalize().into_bytes().to_vec()
            }
        };
        let lookup = Hmac::<Sha256>::new_from_slice(&lookup_key)
            .map_err(|_| KeyError::Malformed("lookup".to_owned()))?;
        Ok(Self {
            current: first.id.clone(),
            ciphers,
            lookup,
        })
    }

    /// Whether the built-in development key is configured.
    pub fn has_development_key(&self) -> bool {
        self.ciphers.contains_key(DEV_KEY_ID)
    }

    /// Encrypts `plaintext` for the column and row named by `context` (e.g.
    /// `consumers.phone:<id>`).
    pub fn encrypt(&self, plaintext: &str, context: &str) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let nonce = Nonce::from(nonce_bytes);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: context.as_bytes(),
        };
        // The current key exists by construction and AES-GCM encryption of in-memory data
        // does not fail; an empty body would only ever fail to decrypt, never leak.
        let sealed = self
            .ciphers
            .get(&self.current)
            .and_then(|cipher| cipher.encrypt(&nonce, payload).ok())
            .unwrap_or_default();
        let mut body = nonce_bytes.to_vec();
        body.extend_from_slice(&sealed);
        format!("v1.{}.{}", self.current, URL_SAFE_NO_PAD.encode(body))
    }

    /// Decrypts an envelope made by [`Vault::encrypt`] for the same `context`.
    pub fn decrypt(&self, envelope: &str, context: &str) -> Result<String, DecryptError> {
        let mut parts = envelope.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(DecryptError::Malformed);
        };
        let cipher = self
            .ciphers
            .get(kid)
            .ok_or_else(|| DecryptError::UnknownKey(kid.to_owned()))?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| DecryptError::Malformed)?;
        if body.len() < 12 + 16 {
            return Err(DecryptError::Malformed);
        }
        let (nonce, sealed) = body.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| DecryptError::Malformed)?;
        let plain = cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| DecryptError::Forged)?;
        String::from_utf8(plain).map_err(|_| DecryptError::Forged)
    }

    /// Whether an envelope was written under a key other than the current one.
    pub fn needs_rotation(&self, envelope: &str) -> bool {
        envelope.split('.').nth(1) != Some(self.current.as_str())
    }

    /// The keyed hash that finds a row by `value` (e.g. a normalised email) without storing
    /// it: equal values give equal hashes, and without the key nobody can test a guess.
    pub fn lookup_hash(&self, value: &str) -> String {
        let mut mac = self.lookup.clone();
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The associated data of an encrypted column value, `table.column:id`: it binds the
/// ciphertext to its row and column, so a value copied elsewhere does not decrypt.
pub fn column_context(table: &str, column: &str, id: uuid::Uuid) -> String {
    format!("{table}.{column}:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> EncryptionKeyConfig {
        EncryptionKeyConfig {
            id: id.to_owned(),
            key_hex: hex::encode([byte; 32]).into(),
        }
    }

    #[test]
    fn round_trips_and_binds_to_its_context() {
        let vault = Vault::development().unwrap();
        let sealed = vault.encrypt("+393331234567", "consumers.phone:1");
        assert!(sealed.starts_with("v1.dev.") && !sealed.contains("3331234567"));
        assert_ne!(
            sealed,
            vault.encrypt("+393331234567", "consumers.phone:1"),
            "fresh nonce each time"
        );
        assert_eq!(
            vault.decrypt(&sealed, "consumers.phone:1").unwrap(),
            "+393331234567"
        );
        assert_eq!(
            vault.decrypt(&sealed, "consumers.phone:2"),
            Err(DecryptError::Forged)
        );
        // Change one character well inside the body: the last one may only carry padding bits.
        let mut tampered = sealed.clone().into_bytes();
        let at = tampered.len() - 10;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            vault.decrypt(&tampered, "consumers.phone:1"),
            Err(DecryptError::Forged)
        );
        assert_eq!(
            vault.decrypt("plain text", "x"),
            Err(DecryptError::Malformed)
        );
    }

    #[test]
    fn old_keys_decrypt_and_the_first_encrypts() {
        let old = Vault::new(&[key("k1", 1)], None).unwrap();
        let sealed = old.encrypt("ada", "c");
        let rotated = Vault::new(&[key("k2", 2), key("k1", 1)], None).unwrap();
        assert_eq!(rotated.decrypt(&sealed, "c").unwrap(), "ada");
        assert!(rotated.needs_rotation(&sealed));
        assert!(!rotated.needs_rotation(&rotated.encrypt("ada", "c")));
        let without = Vault::new(&[key("k2", 2)], None).unwrap();
        assert_eq!(
            without.decrypt(&sealed, "c"),
            Err(DecryptError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn lookup_hashes_are_keyed_and_stable() {
        let a = Vault::new(&[key("k1", 1)], None).unwrap();
        let b = Vault::new(&[key("k1", 1), key("k0", 9)], None).unwrap();
        let other = Vault::new(&[key("k1", 3)], None).unwrap();
        assert_eq!(
            a.lookup_hash("ada@example.com"),
            b.lookup_hash("ada@example.com")
        );
        assert_ne!(
            a.lookup_hash("ada@example.com"),
            other.lookup_hash("ada@example.com")
        );
        let plain_hash = hex::encode(<Sha256 as sha2::Digest>::digest(b"ada@example.com"));
        assert_ne!(a.lookup_hash("ada@example.com"), plain_hash);
    }

    #[test]
    fn bad_configurations_are_refused() {
        assert_eq!(Vault::new(&[], None).err(), Some(KeyError::Missing));
        let short = EncryptionKeyConfig {
            id: "s".into(),
            key_hex: "abcd".into(),
        };
        assert_eq!(
            Vault::new(&[short], None).err(),
            Some(KeyError::Malformed("s".into()))
        );
        assert_eq!(
            Vault::new(&[key("a.b", 1)], None).err(),
            Some(KeyError::BadId("a.b".into()))
        );
        assert_eq!(
            Vault::new(&[key("a", 1), key("a", 2)], None).err(),
            Some(KeyError::Duplicate("a".into()))
        );
    }
}
