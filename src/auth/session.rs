//! Consumer sessions on the wire: short-lived access tokens (EdDSA JWTs naming the session)
//! and opaque refresh tokens, stored hashed and rotated on every use.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jwt::{ISSUER, KeyRing, TimedClaims, TokenError};

/// The `aud` of consumer access tokens.
pub const CONSUMER_AUDIENCE: &str = "paylater:consumer";

/// How long a session lives, however often it is refreshed.
pub const SESSION_LIFETIME: Duration = Duration::days(30);

/// A consumer authenticated by an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerPrincipal {
    /// The consumer.
    pub consumer_id: Uuid,
    /// The session the token belongs to; logout ends it.
    pub session_id: Uuid,
}

/// The claims of a consumer access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerClaims {
    /// Issuer: paylater.
    pub iss: String,
    /// Audience: consumer apps.
    pub aud: String,
    /// The consumer's id.
    pub sub: Uuid,
    /// The session's id.
    pub sid: Uuid,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: Uuid,
}

impl TimedClaims for ConsumerClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
    fn iat(&self) -> i64 {
        self.iat
    }
}

/// Signs an access token for a session, valid from `now` for `ttl`.
pub fn issue(
    keys: &KeyRing,
    principal: &ConsumerPrincipal,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    keys.sign(&ConsumerClaims {
        iss: ISSUER.to_owned(),
        aud: CONSUMER_AUDIENCE.to_owned(),
        sub: principal.consumer_id,
        sid: principal.session_id,
        exp: (now + ttl).timestamp(),
        iat: now.timestamp(),
        jti: Uuid::now_v7(),
    })
}

/// The consumer a valid access token speaks for.
pub fn verify(
    keys: &KeyRing,
    token: &str,
    now: DateTime<Utc>,
) -> Result<ConsumerPrincipal, TokenError> {
    let claims: ConsumerClaims = keys.verify(token, CONSUMER_AUDIENCE, now)?;
    Ok(ConsumerPrincipal {
        consumer_id: claims.sub,
        session_id: claims.sid,
    })
}

/// The `aud` of MFA tokens: proof of the password step, good only for `verifyMfa`.
pub const MFA_AUDIENCE: &str = "paylater:mfa";
/// How long the second login step may take.
pub const MFA_TOKEN_LIFETIME: Duration = Duration::minutes(5);

/// The claims of an MFA token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaClaims {
    /// Issuer: paylater.
    pub iss: String,
    /// Audience: the MFA step.
    pub aud: String,
    /// The consumer whose password was correct.
    pub sub: Uuid,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: Uuid,
}

impl TimedClaims for MfaClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
    fn iat(&self) -> i64 {
        self.iat
    }
}

/// Signs an MFA token for a consumer who passed the password step at `now`.
pub fn issue_mfa(
    keys: &KeyRing,
    consumer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<String, jsonwebtoken::errors::Error> {
    keys.sign(&MfaClaims {
        iss: ISSUER.to_owned(),
        aud: MFA_AUDIENCE.to_owned(),
        sub: consumer_id,
        exp: (now + MFA_TOKEN_LIFETIME).timestamp(),
        iat: now.timestamp(),
        jti: Uuid::now_v7(),
    })
}

/// The consumer a valid MFA token names.
pub fn verify_mfa(keys: &KeyRing, token: &str, now: DateTime<Utc>) -> Result<Uuid, TokenError> {
    let claims: MfaClaims = keys.verify(token, MFA_AUDIENCE, now)?;
    Ok(claims.sub)
}
