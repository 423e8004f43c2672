//! The risk decision made before an order: the shopper's account must be in good standing
//! (active, nothing overdue) and the unpaid balance of their open orders plus the new order
//! must fit within their spending limit.

/// Why an order is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RiskRefusal {
    /// The order does not fit in what is left of the spending limit.
    #[error("the order exceeds the available spending limit")]
    SpendingLimitExceeded {
        /// What the shopper can still spend, in minor units.
        available: i64,
    },
    /// The account is suspended or has an overdue instalment.
    #[error("the account is not in good standing")]
    NotInGoodStanding,
}

/// What the decision looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditPosition {
    /// The shopper's spending limit, in minor units.
    pub limit: i64,
    /// Unpaid instalments of their open orders, in minor units.
    pub outstanding: i64,
    /// Whether any instalment of theirs is overdue.
    pub has_overdue: bool,
    /// Whether the account is active.
    pub active: bool,
}

impl CreditPosition {
    /// What the shopper can still spend (never negative).
    pub fn available(self) -> i64 {
        self.limit.saturating_sub(self.outstanding).max(0)
    }

    /// Approves an order of `amount`, or says why not.
    pub fn approve(self, amount: i64) -> Result<(), RiskRefusal> {
        if !self.active || self.has_overdue {
            return Err(RiskRefusal::NotInGoodStanding);
        }
        if amount > self.available() {
            return Err(RiskRefusal::SpendingLimitExceeded {
                available: self.available(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSITION: CreditPosition = CreditPosition {
        limit: 100_000,
        outstanding: 60_000,
        has_overdue: false,
        active: true,
    };

    #[test]
    fn the_limit_bounds_outstanding_plus_new() {
        assert_eq!(POSITION.approve(40_000), Ok(()));
        assert_eq!(
            POSITION.approve(40_001),
            Err(RiskRefusal::SpendingLimitExceeded { available: 40_000 })
        );
        let over = CreditPosition {
            outstanding: 120_000,
            ..POSITION
        };
        assert_eq!(over.available(), 0);
    }

    #[test]
    fn bad_standing_refuses_anything() {
        let overdue = CreditPosition {
            has_overdue: true,
            ..POSITION
        };
        assert_eq!(overdue.approve(1), Err(RiskRefusal::NotInGoodStanding));
        let suspended = CreditPosition {
            active: false,
            ..POSITION
        };
        assert_eq!(suspended.approve(1), Err(RiskRefusal::NotInGoodStanding));
    }
}
