//! The payment plans paylater offers, their cadence and the amount limits that gate them.

crate::vocabulary! {
    /// A payment plan a shopper can choose at checkout.
    pub enum PlanCode as "plan code" {
        /// Three monthly installments, the first due at checkout.
        PayIn3 = "PAY_IN_3",
        /// Four monthly installments, the first due at checkout.
        PayIn4 = "PAY_IN_4",
        /// The whole amount due 30 days after checkout.
        PayIn30Days = "PAY_IN_30_DAYS",
    }
}

/// When a plan's installments fall due, relative to the start date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// First due at start, then every month on the same day of month, clamped to month end.
    Monthly,
    /// One payment due `days` after start.
    DeferredDays(u32),
}

/// The inclusive range of order amounts (in minor units) for which a plan may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountLimits {
    /// The smallest allowed amount, inclusive.
    pub min_minor: i64,
    /// The largest allowed amount, inclusive.
    pub max_minor: i64,
}

impl PlanCode {
    /// The human-readable name shown to shoppers.
    pub fn display_name(self) -> &'static str {
        match self {
            PlanCode::PayIn3 => "Pay in 3",
            PlanCode::PayIn4 => "Pay in 4",
            PlanCode::PayIn30Days => "Pay in 30 days",
        }
    }

    /// How many installments the order total is split into.
    pub fn installment_count(self) -> u32 {
        match self {
            PlanCode::PayIn3 => 3,
            PlanCode::PayIn4 => 4,
            PlanCode::PayIn30Days => 1,
        }
    }

    /// When the installments fall due.
    pub fn cadence(self) -> Cadence {
        match self {
            PlanCode::PayIn3 | PlanCode::PayIn4 => Cadence::Monthly,
            PlanCode::PayIn30Days => Cadence::DeferredDays(30),
        }
    }
}

impl AmountLimits {
    /// Whether an order amount lies within the limits (both ends inclusive).
    pub fn allows(self, amount_minor: i64) -> bool {
        self.min_minor <= amount_minor && amount_minor <= self.max_minor
    }

    /// Applies a merchant's own limits, which may narrow the plan's limits but never widen them.
    pub fn narrowed(self, min: Option<i64>, max: Option<i64>) -> AmountLimits {
        AmountLimits {
            min_minor: min.map_or(self.min_minor, |m| m.max(self.min_minor)),
            max_minor: max.map_or(self.max_minor, |m| m.min(self.max_minor)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_round_trip() {
        for plan in PlanCode::ALL {
            assert_eq!(plan.as_str().parse::<PlanCode>().unwrap(), plan);
        }
        let unknown = "pay_in_3".parse::<PlanCode>().unwrap_err();
        assert_eq!(
            (unknown.what, unknown.name.as_str()),
            ("plan code", "pay_in_3")
        );
        assert!("PAY_IN_5".parse::<PlanCode>().is_err());
    }

    #[test]
    fn plan_facts() {
        assert_eq!(PlanCode::PayIn3.installment_count(), 3);
        assert_eq!(PlanCode::PayIn4.installment_count(), 4);
        assert_eq!(PlanCode::PayIn30Days.installment_count(), 1);
        assert_eq!(PlanCode::PayIn3.cadence(), Cadence::Monthly);
        assert_eq!(PlanCode::PayIn4.cadence(), Cadence::Monthly);
        assert_eq!(PlanCode::PayIn30Days.cadence(), Cadence::DeferredDays(30));
        assert_eq!(PlanCode::PayIn3.display_name(), "Pay in 3");
        assert_eq!(PlanCode::PayIn4.display_name(), "Pay in 4");
        assert_eq!(PlanCode::PayIn30Days.display_name(), "Pay in 30 days");
    }

    #[test]
    fn allows_is_inclusive() {
        let limits = AmountLimits {
            min_minor: 100,
            max_minor: 200,
        };
        assert!(!limits.allows(99));
        assert!(limits.allows(100));
        assert!(limits.allows(200));
        assert!(!limits.allows(201));
    }

    #[test]
    fn narrowed_examples() {
        let plan = AmountLimits {
            min_minor: 100,
            max_minor: 1000,
        };
        assert_eq!(plan.narrowed(None, None), plan);
        assert_eq!(
            plan.narrowed(Some(200), Some(500)),
            AmountLimits {
                min_minor: 200,
                max_minor: 500
            }
        );
        assert_eq!(plan.narrowed(Some(50), Some(5000)), plan);
    }

    proptest! {
        #[test]
        fn narrowed_never_widens(
            plan_min in any::<i64>(),
            plan_max in any::<i64>(),
            min in any::<Option<i64>>(),
            max in any::<Option<i64>>(),
            amount in any::<i64>(),
        ) {
            let plan = AmountLimits { min_minor: plan_min, max_minor: plan_max };
            let merged = plan.narrowed(min, max);
            prop_assert!(merged.min_minor >= plan.min_minor);
            prop_assert!(merged.max_minor <= plan.max_minor);
            if let Some(min) = min {
                prop_assert!(merged.min_minor >= min);
            }
            if let Some(max) = max {
                prop_assert!(merged.max_minor <= max);
            }
            if merged.allows(amount) {
                prop_assert!(plan.allows(amount));
            }
        }
    }
}
