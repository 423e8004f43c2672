//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock skew either way), as authenticator apps implement them, and recovery codes.

use chrono::{DateTime, Utc};
use rand::Rng;
use totp_rs::{Builder, Secret, Totp};
use uuid::Uuid;

use super::secret::hash_secret;

/// The issuer authenticator apps show next to the code.
pub const ISSUER: &str = "paylater";
/// How many recovery codes a consumer gets.
pub const RECOVERY_CODES: usize = 10;

/// A new random secret, base32 as authenticator apps take it.
pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret_base32: &str, account: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    Builder::new()
        .with_secret(secret)
        .with_account_name(account.to_owned())
        .with_issuer(Some(ISSUER))
        .build()
        .ok()
}

/// The `otpauth://` URI to show as a QR code.
pub fn provisioning_uri(secret_base32: &str, account: &str) -> Option<String> {
    totp(secret_base32, account)?.to_url().ok()
}

/// The time step a code is valid for at `now`, if it is; callers refuse steps at or before
/// the last one accepted, so a code works once.
pub fn check(secret_base32: &str, code: &str, now: DateTime<Utc>) -> Option<i64> {
    let time = u64::try_from(now.timestamp()).ok()?;
    let step = totp(secret_base32, "account")?.check(code.trim(), time)?;
    i64::try_from(step).ok()
}

/// The code for `now` (for tests and tools that stand in for an authenticator app).
pub fn code_at(secret_base32: &str, now: DateTime<Utc>) -> Option<String> {
    let time = u64::try_from(now.timestamp()).ok()?;
    Some(totp(secret_base32, "account")?.generate(time).to_string())
}

/// New recovery codes: ten groups of `xxxxx-xxxxx` from an unambiguous alphabet (~50 bits).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut part = || -> String {
                (0..5)
                    .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                    .collect()
            };
            format!("{}-{}", part(), part())
        })
        .collect()
}

/// The stored form of a recovery code, salted with its owner.
pub fn recovery_code_hash(consumer_id: Uuid, code: &str) -> String {
    hash_secret(&format!("{consumer_id}:{}", code.trim().to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn codes_check_within_one_step_and_name_their_step() {
        let secret = new_secret();
        let now = Utc.with_ymd_and_hms(2027, 1, 31, 10, 0, 0).unwrap();
        let code = code_at(&secret, now).unwrap();
        let step = check(&secret, &code, now).unwrap();
        assert_eq!(step, now.timestamp() / 30);
        assert_eq!(
            check(&secret, &code, now + chrono::Duration::seconds(30)),
            Some(step)
        );
        assert_eq!(
            check(&secret, &code, now + chrono::Duration::seconds(90)),
            None
        );
        assert_eq!(check(&secret, "000000x", now), None);
        let uri = provisioning_uri(&secret, "ada@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/paylater:ada%40example.com?"),
            "{uri}"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_per_owner() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(
            codes.iter().collect::<std::collections::HashSet<_>>().len(),
            RECOVERY_CODES
        );
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_ne!(
            recovery_code_hash(a, &codes[0]),
            recovery_code_hash(b, &codes[0])
        );
        assert_eq!(
            recovery_code_hash(a, &codes[0]),
            recovery_code_hash(a, &codes[0].to_uppercase())
        );
    }
}
