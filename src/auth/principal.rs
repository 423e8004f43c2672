//! The authenticated caller of a request, decided once per request from its credentials.

use uuid::Uuid;

use super::{Scopes, session::ConsumerPrincipal};

/// Who is calling. Resolvers never look at headers: they ask for a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credentials: may read public data and checkouts whose token it holds.
    Anonymous,
    /// A merchant's server, authenticated by an API key or an access token.
    Merchant(MerchantPrincipal),
    /// A shopper, authenticated by a session's access token.
    Consumer(ConsumerPrincipal),
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
            Self::Anonymous | Self::Consumer(_) => None,
        }
    }

    /// The consumer behind the request, if any.
    pub fn consumer(&self) -> Option<&ConsumerPrincipal> {
        match self {
            Self::Consumer(consumer) => Some(consumer),
            Self::Anonymous | Self::Merchant(_) => None,
        }
    }
}

/// The network address a request came from, for the audit log and per-IP limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);
