//! Signatures: HMAC-SHA256 over `"<unix seconds>.<body>"`, hex, as `v1=<hex>`. Webhooks
//! carry `Paylater-Signature: t=<seconds>,v1=<hex>` (one `v1` per secret while a rotated
//! secret is still valid); merchants' requests to us carry the same header, or the `v1`
//! part alone with the time in `Paylater-Timestamp`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Header carrying the signing time, in seconds since the epoch.
pub const TIMESTAMP_HEADER: &str = "paylater-timestamp";
/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "paylater-signature";
/// How far a signing time may be from the server's clock, in seconds.
pub const TOLERANCE_SECONDS: i64 = 300;

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `HMAC-SHA256(secret, "<timestamp>.<body>")` in lowercase hex: the signature every
/// signed message of paylater carries, whatever wraps it.
pub fn signature_hex(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(
        mac(secret, &timestamp.to_string(), body)
            .finalize()
            .into_bytes(),
    )
}

/// The signature header value for `body` signed at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1={}", signature_hex(secret, timestamp, body))
}

/// The `Paylater-Signature` value for `body` signed at `timestamp` with each secret.
pub fn header(timestamp: i64, secrets: &[&str], body: &[u8]) -> String {
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push(',');
        value.push_str(&sign(secret, timestamp, body));
    }
    value
}

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing or malformed.
    #[error(
        "this merchant requires signed requests: send Paylater-Timestamp and Paylater-Signature"
    )]
    Missing,
    /// The timestamp is more than five minutes from now.
    #[error("the request signature is too old or in the future")]
    Stale,
    /// The signature does not match the body.
    #[error("the request signature does not match")]
    Invalid,
}

/// Checks a signature against the body, in constant time, at `now` (seconds). The time
/// comes from the `t=` part of the signature or, failing that, from `timestamp`; any of
/// its `v1` values may match.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    let parts: Vec<(&str, &str)> = signature
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .collect();
    let timestamp = parts
        .iter()
        .find(|(key, _)| *key == "t")
        .map(|(_, value)| *value)
        .or(timestamp)
        .ok_or(SignatureError::Missing)?
        .trim();
    let at: i64 = timestamp.parse().map_err(|_| SignatureError::Missing)?;
    if (now - at).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
    let matches = parts
        .iter()
        .filter(|(key, _)| *key == "v1")
        .filter_map(|(_, hex_sig)| hex::decode(hex_sig).ok())
        .any(|given| expected.clone().verify_slice(&given).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_body_time_and_secret() {
        let header = sign("s3cret", 1_000, b"{}");
        assert_eq!(
            verify("s3cret", Some("1000"), Some(&header), b"{}", 1_100),
            Ok(())
        );
        assert_eq!(
            verify("s3cret", Some("1000"), Some(&header), b"{ }", 1_100),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify("other", Some("1000"), Some(&header), b"{}", 1_100),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify("s3cret", Some("1001"), Some(&header), b"{}", 1_100),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify("s3cret", Some("1000"), Some(&header), b"{}", 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("s3cret", None, Some(&header), b"{}", 1_100),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify("s3cret", Some("1000"), Some("v1=zz"), b"{}", 1_100),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn the_webhook_header_carries_its_time_and_one_signature_per_secret() {
        let value = header(1_000, &["new", "old"], b"{}");
        assert_eq!(
            value,
            format!(
                "t=1000,{},{}",
                sign("new", 1_000, b"{}"),
                sign("old", 1_000, b"{}")
            )
        );
        assert_eq!(verify("new", None, Some(&value), b"{}", 1_000), Ok(()));
        assert_eq!(verify("old", None, Some(&value), b"{}", 1_000), Ok(()));
        assert_eq!(
            verify("other", None, Some(&value), b"{}", 1_000),
            Err(SignatureError::Invalid)
        );
        // The time in the header wins over a separate timestamp.
        assert_eq!(verify("new", Some("5"), Some(&value), b"{}", 1_000), Ok(()));
        assert_eq!(
            verify("new", None, Some(&value), b"{}", 2_000),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn the_documented_example_holds() {
        // README, "Verifying webhook signatures".
        let body = br#"{"id":"0194f5a0-0000-7000-8000-000000000000","type":"order.captured"}"#;
        assert_eq!(
            header(1_800_000_000, &["whsec_test_secret"], body),
            "t=1800000000,v1=6853ee2826cffcf816b22329590c9856a3b69fc61ea0b383b54e055154117080"
        );
    }
}
