//! Request signatures: `Paylater-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
//! with `Paylater-Timestamp: <unix seconds>`. The same scheme signs webhooks the other way.

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

/// The signature header value for `body` signed at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(
            mac(secret, &timestamp.to_string(), body)
                .finalize()
                .into_bytes()
        )
    )
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

/// Checks a signature against the body, in constant time, at `now` (seconds).
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let (timestamp, signature) = timestamp.zip(signature).ok_or(SignatureError::Missing)?;
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Missing)?;
    if (now - at).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let given = signature
        .trim()
        .strip_prefix("v1=")
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
        .ok_or(SignatureError::Invalid)?;
    mac(secret, timestamp.trim(), body)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Invalid)
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
}
