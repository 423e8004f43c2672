//! What a merchant credential may do. Keys carry scopes so a leaked key for one job (say,
//! creating checkouts from a web shop) cannot be used for another (refunds, key management).

use std::{fmt, str::FromStr};

/// One permission of a merchant credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Create and cancel checkouts.
    CheckoutsWrite,
    /// Read orders.
    OrdersRead,
    /// Capture, refund and cancel orders.
    OrdersWrite,
    /// Configure webhooks.
    WebhooksManage,
    /// Create, list and revoke API keys.
    ApiKeysManage,
}

impl Scope {
    /// Every scope, in display order.
    pub const ALL: [Scope; 5] = [
        Scope::CheckoutsWrite,
        Scope::OrdersRead,
        Scope::OrdersWrite,
        Scope::WebhooksManage,
        Scope::ApiKeysManage,
    ];

    /// The wire and storage spelling, e.g. `checkouts:write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CheckoutsWrite => "checkouts:write",
            Self::OrdersRead => "orders:read",
            Self::OrdersWrite => "orders:write",
            Self::WebhooksManage => "webhooks:manage",
            Self::ApiKeysManage => "api_keys:manage",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A scope name paylater does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// A set of scopes; stored and printed space-separated, e.g. `checkouts:write orders:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// Every scope (a merchant's first key).
    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether every scope of `self` is also in `other`.
    pub fn is_subset_of(self, other: Scopes) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in the set, in display order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |scope| self.contains(*scope))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        Scopes(scopes.into_iter().fold(0, |bits, scope| bits | scope.bit()))
    }
}

impl FromStr for Scopes {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split_whitespace().map(str::parse).collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_stored_form() {
        let all = Scopes::all();
        assert_eq!(
            all.to_string(),
            "checkouts:write orders:read orders:write webhooks:manage api_keys:manage"
        );
        assert_eq!(all.to_string().parse::<Scopes>().unwrap(), all);
        let some: Scopes = [Scope::OrdersRead, Scope::CheckoutsWrite]
            .into_iter()
            .collect();
        assert_eq!(some.to_string(), "checkouts:write orders:read");
        assert!(some.is_subset_of(all) && !all.is_subset_of(some));
        assert!("".parse::<Scopes>().unwrap().is_empty());
        assert!("orders:delete".parse::<Scopes>().is_err());
    }
}
