//! How a refund is shared out. A refund of R first reduces the unpaid instalments, last one
//! first, cancelling those that reach zero; only what exceeds the unpaid balance goes back
//! to the shopper's card. So after any sequence of payments and refunds:
//!
//! paid by the shopper − refunded to the shopper + unpaid = total − refunded.

use super::order::InstallmentStatus;

/// What the allocation needs to know of one instalment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallmentBalance {
    /// Position in the schedule, from 1.
    pub sequence: u32,
    /// What it is for now (after earlier refunds), in minor units.
    pub amount_minor: i64,
    /// Its state.
    pub status: InstallmentStatus,
}

/// The change one instalment undergoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reduction {
    /// Which instalment.
    pub sequence: u32,
    /// Its amount afterwards.
    pub new_amount_minor: i64,
    /// It reached zero and is cancelled.
    pub cancelled: bool,
}

/// How a refund is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPlan {
    /// Unpaid instalments reduced, last one first.
    pub reductions: Vec<Reduction>,
    /// What goes back to the shopper's card.
    pub to_shopper_minor: i64,
}

/// Why a refund cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    /// Zero or negative.
    #[error("the amount must be positive")]
    NotPositive,
    /// More than was captured and not yet refunded.
    #[error("at most {refundable} can still be refunded")]
    ExceedsRefundable {
        /// What can still be refunded, in minor units.
        refundable: i64,
    },
}

/// Shares out a refund of `amount` when `refundable` (captured − already refunded) remains.
pub fn allocate(
    amount: i64,
    refundable: i64,
    installments: &[InstallmentBalance],
) -> Result<RefundPlan, RefundError> {
    if amount <= 0 {
        return Err(RefundError::NotPositive);
    }
    if amount > refundable {
        return Err(RefundError::ExceedsRefundable {
            refundable: refundable.max(0),
        });
    }
    let mut unpaid: Vec<&InstallmentBalance> = installments
        .iter()
        .filter(|i| i.status.is_unpaid() && i.amount_minor > 0)
        .collect();
    unpaid.sort_by_key(|i| std::cmp::Reverse(i.sequence));
    let mut remaining = amount;
    let mut reductions = Vec::new();
    for installment in unpaid {
        if remaining == 0 {
            break;
        }
        let taken = remaining.min(installment.amount_minor);
        remaining -= taken;
        let new_amount_minor = installment.amount_minor - taken;
        reductions.push(Reduction {
            sequence: installment.sequence,
            new_amount_minor,
            cancelled: new_amount_minor == 0,
        });
    }
    Ok(RefundPlan {
        reductions,
        to_shopper_minor: remaining,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split_amount;
    use InstallmentStatus::*;
    use proptest::prelude::*;

    fn balance(sequence: u32, amount_minor: i64, status: InstallmentStatus) -> InstallmentBalance {
        InstallmentBalance {
            sequence,
            amount_minor,
            status,
        }
    }

    #[test]
    fn unpaid_instalments_absorb_a_refund_last_first() {
        // 100.00 in 4: the first paid.
        let order = [
            balance(1, 2500, Paid),
            balance(2, 2500, Scheduled),
            balance(3, 2500, Scheduled),
            balance(4, 2500, Scheduled),
        ];
        let plan = allocate(3000, 10_000, &order).unwrap();
        assert_eq!(
            plan.reductions,
            [
                Reduction {
                    sequence: 4,
                    new_amount_minor: 0,
                    cancelled: true
                },
                Reduction {
                    sequence: 3,
                    new_amount_minor: 2000,
                    cancelled: false
                },
            ]
        );
        assert_eq!(plan.to_shopper_minor, 0);

        // A full refund cancels all that is unpaid and pays back what was paid.
        let plan = allocate(10_000, 10_000, &order).unwrap();
        assert_eq!(plan.reductions.len(), 3);
        assert!(plan.reductions.iter().all(|r| r.cancelled));
        assert_eq!(plan.to_shopper_minor, 2500);
    }

    #[test]
    fn refunds_are_bounded() {
        assert_eq!(allocate(0, 100, &[]), Err(RefundError::NotPositive));
        assert_eq!(
            allocate(101, 100, &[]),
            Err(RefundError::ExceedsRefundable { refundable: 100 })
        );
    }

    /// One step of an order's life in the model below.
    #[derive(Debug, Clone)]
    enum Step {
        /// The shopper pays the earliest unpaid instalment.
        Pay,
        /// The merchant refunds this share (per mille) of what is still refundable.
        Refund(u16),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![Just(Step::Pay), (1u16..=1000).prop_map(Step::Refund)]
    }

    proptest! {
        /// Random payments and refunds on a captured order keep every invariant.
        #[test]
        fn the_ledger_always_balances(
            total in 1i64..5_000_000,
            parts in prop::sample::select(vec![1u32, 3, 4]),
            steps in prop::collection::vec(step(), 0..20),
        ) {
            let amounts = split_amount(total, parts).unwrap();
            let mut order: Vec<InstallmentBalance> = amounts
                .iter()
                .zip(1..)
                .map(|(&amount, sequence)| balance(sequence, amount, Scheduled))
                .collect();
            order[0].status = Paid;
            let (captured, mut refunded, mut to_shopper) = (total, 0i64, 0i64);
            for step in steps {
                match step {
                    Step::Pay => {
                        if let Some(next) = order.iter_mut().find(|i| i.status.is_unpaid()) {
                            next.status = Paid;
                        }
                    }
                    Step::Refund(share) => {
                        let refundable = captured - refunded;
                        let amount = refundable * i64::from(share) / 1000;
                        match allocate(amount, refundable, &order) {
                            Ok(plan) => {
                                for reduction in &plan.reductions {
                                    let i = order.iter_mut().find(|i| i.sequence == reduction.sequence).unwrap();
                                    prop_assert!(i.status.is_unpaid(), "only unpaid instalments shrink");
                                    i.amount_minor = reduction.new_amount_minor;
                                    if reduction.cancelled {
                                        i.status = Cancelled;
                                    }
                                }
                                refunded += amount;
                                to_shopper += plan.to_shopper_minor;
                            }
                            Err(err) => prop_assert_eq!(err, RefundError::NotPositive),
                        }
                    }
                }
                let sum = |pick: fn(InstallmentStatus) -> bool| -> i64 {
                    order.iter().filter(|i| pick(i.status)).map(|i| i.amount_minor).sum()
                };
                let paid = sum(|s| s == Paid);
                let unpaid = sum(InstallmentStatus::is_unpaid);
                prop_assert_eq!(paid + unpaid, total - refunded + to_shopper);
                prop_assert_eq!(paid - to_shopper + unpaid, total - refunded);
                prop_assert!(refunded <= captured);
                prop_assert!(to_shopper <= paid);
                prop_assert!(order.iter().all(|i| i.status != Cancelled || i.amount_minor == 0));
                prop_assert!(order.iter().all(|i| i.amount_minor >= 0));
            }
        }
    }
}
