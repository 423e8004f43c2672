//! The operator's own people: admins and support agents. They sign in with a password and
//! a TOTP code (MFA is mandatory) and carry a short-lived access token naming their role.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jwt::{Claims, KeyRing, RegisteredClaims, TokenError, Verified};

/// The `aud` of staff access tokens.
pub const STAFF_AUDIENCE: &str = "paylater:staff";

/// What a member of staff may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// Everything support may do, and reading the audit log.
    Admin,
    /// Reads any checkout or order to help shoppers and merchants, with PII masked.
    Support,
}

impl StaffRole {
    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Support => "support",
        }
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StaffRole {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "admin" => Ok(Self::Admin),
            "support" => Ok(Self::Support),
            other => Err(format!("unknown staff role {other:?} (admin or support)")),
        }
    }
}

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
    fn roles_round_trip_and_unknown_ones_are_refused() {
        for role in [StaffRole::Admin, StaffRole::Support] {
            assert_eq!(role.as_str().parse::<StaffRole>(), Ok(role));
        }
        assert!("root".parse::<StaffRole>().is_err());
    }

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
