//! What a merchant credential may do. Keys carry scopes so a leaked key for one job (say,
//! creating checkouts from a web shop) cannot be used for another (refunds, key management).

use std::{fmt, str::FromStr};

use crate::vocabulary::UnknownName;

crate::vocabulary! {
    /// One permission of a merchant credential; its name is the wire and storage spelling.
    pub enum Scope as "scope" {
        /// Create and cancel checkouts.
        CheckoutsWrite = "checkouts:write",
        /// Read orders.
        OrdersRead = "orders:read",
        /// Capture, refund and cancel orders.
        OrdersWrite = "orders:write",
        /// Configure webhooks.
        WebhooksManage = "webhooks:manage",
        /// Create, list and revoke API keys.
        ApiKeysManage = "api_keys:manage",
    }
}

impl Scope {
    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of scopes; stored and printed space-separated, e.g. `checkouts:write orders:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
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
    type Err = UnknownName;
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
