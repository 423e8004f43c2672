//! The operator's own people: admins and support agents. They sign in with a password and
//! a TOTP code (MFA is mandatory) and carry a short-lived access token naming their role.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jwt::{Claims, KeyRing, RegisteredClaims, TokenError, Verified};
use crate::domain::staff::StaffRole;

/// The `aud` of staff access tokens.
pub const STAFF_AUDIENCE: &str = "paylater:staff";

/// A member of staff authenticated by an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffPrincipal {
    /// The member of staff.
    pub staff_id: Uuid,
    /// Their role when the token was issued.
    pub role: StaffRole,
}

/// The claims of a staff access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffClaims {
    /// Issuer, audience (staff), subject (the member of staff), times and id.
    #[serde(flatten)]
    pub registered: RegisteredClaims,
    /// The role.
    pub role: StaffRole,
}

impl Claims for StaffClaims {
    fn registered(&self) -> &RegisteredClaims {
        &self.registered
    }
}

/// Signs an access token for `principal`, valid from `now` for `ttl`.
pub fn issue(
    keys: &KeyRing,
    principal: StaffPrincipal,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    keys.sign(&StaffClaims {
        registered: RegisteredClaims::new(STAFF_AUDIENCE, principal.staff_id, now, ttl),
        role: principal.role,
    })
}

/// The member of staff a valid access token speaks for.
pub fn verify(
    keys: &KeyRing,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Verified<StaffPrincipal>, TokenError> {
    let claims: StaffClaims = keys.verify(token, STAFF_AUDIENCE, now)?;
    let principal = StaffPrincipal {
        staff_id: claims.registered.sub,
        role: claims.role,
    };
    Verified::new(principal, &claims.registered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staff_token_is_not_a_consumer_token() {
        let keys = KeyRing::development().unwrap();
        let now = Utc::now();
        let principal = StaffPrincipal {
            staff_id: Uuid::now_v7(),
            role: StaffRole::Support,
        };
        let token = issue(&keys, principal, now, Duration::minutes(15)).unwrap();
        let verified = verify(&keys, &token, now).unwrap();
        assert_eq!(verified.principal, principal);
        // The expiry is the token's own, to the second.
        assert_eq!(
            verified.expires_at.timestamp(),
            (now + Duration::minutes(15)).timestamp()
        );
        assert!(super::super::session::verify(&keys, &token, now).is_err());
    }
}
