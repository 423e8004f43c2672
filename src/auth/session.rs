//! Consumer sessions on the wire: short-lived access tokens (EdDSA JWTs naming the session)
//! and opaque refresh tokens, stored hashed and rotated on every use.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jwt::{Claims, KeyRing, RegisteredClaims, TokenError, Verified};

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
    /// Issuer, audience (consumer apps), subject (the consumer), times and id.
    #[serde(flatten)]
    pub registered: RegisteredClaims,
    /// The session's id.
    pub sid: Uuid,
}

impl Claims for ConsumerClaims {
    fn registered(&self) -> &RegisteredClaims {
        &self.registered
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
        registered: RegisteredClaims::new(CONSUMER_AUDIENCE, principal.consumer_id, now, ttl),
        sid: principal.session_id,
    })
}

/// The consumer a valid access token speaks for.
pub fn verify(
    keys: &KeyRing,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Verified<ConsumerPrincipal>, TokenError> {
    let claims: ConsumerClaims = keys.verify(token, CONSUMER_AUDIENCE, now)?;
    let principal = ConsumerPrincipal {
        consumer_id: claims.registered.sub,
        session_id: claims.sid,
    };
    Verified::new(principal, &claims.registered)
}

/// The `aud` of MFA tokens: proof of the password step, good only for `verifyMfa`.
pub const MFA_AUDIENCE: &str = "paylater:mfa";
/// How long the second login step may take.
pub const MFA_TOKEN_LIFETIME: Duration = Duration::minutes(5);

/// Signs an MFA token (registered claims only) for a consumer who passed the password
/// step at `now`.
pub fn issue_mfa(
    keys: &KeyRing,
    consumer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<String, jsonwebtoken::errors::Error> {
    keys.sign(&RegisteredClaims::new(
        MFA_AUDIENCE,
        consumer_id,
        now,
        MFA_TOKEN_LIFETIME,
    ))
}

/// The consumer a valid MFA token names.
pub fn verify_mfa(keys: &KeyRing, token: &str, now: DateTime<Utc>) -> Result<Uuid, TokenError> {
    let claims: RegisteredClaims = keys.verify(token, MFA_AUDIENCE, now)?;
    Ok(claims.sub)
}
