//! OAuth 2.0 client credentials (RFC 6749 §4.4) for merchants: an API key is exchanged for
//! a short-lived JWT carrying the key's scopes (or fewer), so the key itself need not
//! travel with every request.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::scope::Scopes;

use super::{
    MerchantPrincipal,
    jwt::{Claims, KeyRing, RegisteredClaims, TokenError, Verified},
};

/// The `aud` of merchant access tokens.
pub const MERCHANT_AUDIENCE: &str = "paylater:merchant-api";

/// The claims of a merchant access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantClaims {
    /// Issuer, audience (the merchant API), subject (the merchant), times and id.
    #[serde(flatten)]
    pub registered: RegisteredClaims,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The API key the token was exchanged for.
    pub akid: Uuid,
}

impl Claims for MerchantClaims {
    fn registered(&self) -> &RegisteredClaims {
        &self.registered
    }
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The scopes it carries.
    pub scopes: Scopes,
}

/// Signs a token for `principal` with `scopes` (already checked to be a subset of the
/// principal's), valid from `now` for `ttl`.
pub fn issue(
    keys: &KeyRing,
    principal: &MerchantPrincipal,
    scopes: Scopes,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
    let claims = MerchantClaims {
        registered: RegisteredClaims::new(MERCHANT_AUDIENCE, principal.merchant_id, now, ttl),
        scope: scopes.to_string(),
        akid: principal.api_key_id,
    };
    Ok(IssuedToken {
        access_token: keys.sign(&claims)?,
        expires_in: ttl.num_seconds(),
        scopes,
    })
}

/// The merchant a valid access token speaks for.
pub fn verify(
    keys: &KeyRing,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Verified<MerchantPrincipal>, TokenError> {
    let claims: MerchantClaims = keys.verify(token, MERCHANT_AUDIENCE, now)?;
    let principal = MerchantPrincipal {
        merchant_id: claims.registered.sub,
        api_key_id: claims.akid,
        scopes: claims.scope.parse().map_err(|_| TokenError::Malformed)?,
    };
    Verified::new(principal, &claims.registered)
}
