//! The authenticated caller of a request, decided once per request from its credentials.

use uuid::Uuid;

use chrono::{DateTime, Utc};

use crate::domain::scope::Scopes;

use super::{
    jwt::{KeyRing, TokenError, Verified},
    oauth,
    session::{self, ConsumerPrincipal},
    staff::{self, StaffPrincipal},
};

/// Who is calling. Resolvers never look at headers: they ask for a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credentials: may read public data and checkouts whose token it holds.
    Anonymous,
    /// A merchant's server, authenticated by an API key or an access token.
    Merchant(MerchantPrincipal),
    /// A shopper, authenticated by a session's access token.
    Consumer(ConsumerPrincipal),
    /// A member of the operator's staff (admin or support), authenticated by an access
    /// token obtained with password and TOTP.
    Staff(StaffPrincipal),
}

/// A merchant authenticated by one of its API keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantPrincipal {
    /// The merchant that owns the key; every query is scoped to it.
    pub merchant_id: Uuid,
    /// The key used, for audit and last-used tracking.
    pub api_key_id: Uuid,
    /// What the key may do.
    pub scopes: Scopes,
}

impl Principal {
    /// The merchant behind the request, if any.
    pub fn merchant(&self) -> Option<&MerchantPrincipal> {
        match self {
            Self::Merchant(merchant) => Some(merchant),
            Self::Anonymous | Self::Consumer(_) | Self::Staff(_) => None,
        }
    }

    /// The consumer behind the request, if any.
    pub fn consumer(&self) -> Option<&ConsumerPrincipal> {
        match self {
            Self::Consumer(consumer) => Some(consumer),
            Self::Anonymous | Self::Merchant(_) | Self::Staff(_) => None,
        }
    }

    /// The member of staff behind the request, if any.
    pub fn staff(&self) -> Option<&StaffPrincipal> {
        match self {
            Self::Staff(staff) => Some(staff),
            Self::Anonymous | Self::Merchant(_) | Self::Consumer(_) => None,
        }
    }

    /// The principal a valid access token speaks for, and until when. Each kind of token has its own
    /// audience, so a token of one kind fails as another (`Invalid` or `Malformed`) and
    /// the next kind is tried; any other failure is final.
    pub fn from_access_token(
        keys: &KeyRing,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Verified<Self>, TokenError> {
        type Verify = fn(&KeyRing, &str, DateTime<Utc>) -> Result<Verified<Principal>, TokenError>;
        let kinds: [Verify; 3] = [
            |keys, token, now| oauth::verify(keys, token, now).map(|v| v.map(Principal::Merchant)),
            |keys, token, now| {
                session::verify(keys, token, now).map(|v| v.map(Principal::Consumer))
            },
            |keys, token, now| staff::verify(keys, token, now).map(|v| v.map(Principal::Staff)),
        ];
        let mut refusal = TokenError::Malformed;
        for verify in kinds {
            match verify(keys, token, now) {
                Ok(principal) => return Ok(principal),
                Err(err @ (TokenError::Invalid | TokenError::Malformed)) => refusal = err,
                Err(err) => return Err(err),
            }
        }
        Err(refusal)
    }
}

/// The network address a request came from, for the audit log and per-IP limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);
