//! Payment attempts as rules: which operations move money, the states an attempt goes
//! through, what it holds while the gateway has not answered, and when the reconciler asks
//! the gateway again about one that got no answer.

use chrono::Duration;
use uuid::Uuid;

crate::vocabulary! {
    /// An operation that moves money at the gateway.
    pub enum AttemptKind as "payment attempt kind" {
        /// `confirmCheckout`: the instalments due today, charged as the order is made.
        Confirmation = "CONFIRMATION",
        /// The collection job charging a due instalment.
        InstallmentCharge = "INSTALLMENT_CHARGE",
        /// `payInstallment`: the shopper paying an instalment early.
        EarlyPayment = "EARLY_PAYMENT",
        /// `refundOrder`: money back to the card.
        Refund = "REFUND",
        /// `cancelOrder` or the capture-window job: what was paid goes back to the card.
        Void = "VOID",
    }
}

impl AttemptKind {
    /// Whether the attempt sends money to the shopper's card rather than taking it.
    pub fn is_refund(self) -> bool {
        matches!(self, Self::Refund | Self::Void)
    }
}

crate::vocabulary! {
    /// Where an attempt is.
    pub enum AttemptStatus as "payment attempt status" {
        /// Recorded; the gateway has not (knowingly) answered yet.
        Pending = "PENDING",
        /// The gateway did it, and the outcome is written.
        Succeeded = "SUCCEEDED",
        /// The gateway refused, and the refusal is written.
        Failed = "FAILED",
    }
}

/// What a pending attempt holds, so no other money operation runs on it meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// A checkout being confirmed.
    Checkout(Uuid),
    /// An order whose money is moving.
    Order(Uuid),
}

impl Reservation {
    /// The stored form, unique among pending attempts.
    pub fn key(self) -> String {
        match self {
            Self::Checkout(id) => format!("checkout:{id}"),
            Self::Order(id) => format!("order:{id}"),
        }
    }
}

/// The idempotency key the gateway sees for call `leg` of attempt `id` (a charge is one
/// call; a refund drawn from several charges is one call per charge). It is made from the
/// attempt's id alone, so every process that settles the attempt sends the same key.
pub fn gateway_key(id: Uuid, leg: usize) -> String {
    if leg == 0 {
        format!("pl_{}", id.simple())
    } else {
        format!("pl_{}_{leg}", id.simple())
    }
}

/// How long an unanswered attempt waits before the reconciler asks again, after it asked
/// `calls` times: the reconciler's age, doubling, at most an hour.
pub fn next_check_delay(age: Duration, calls: u32) -> Duration {
    (age * 2_i32.pow(calls.min(12))).min(Duration::hours(1))
}

/// How long after it was recorded an attempt may still be sent to the gateway again.
/// Gateways keep idempotency keys about 24 hours; after that the same key could charge
/// anew, so an attempt still unanswered by then is left to an operator.
pub const RETRY_HORIZON: Duration = Duration::hours(23);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in AttemptKind::ALL {
            assert_eq!(kind.as_str().parse::<AttemptKind>(), Ok(kind));
        }
        assert!("PAYOUT".parse::<AttemptKind>().is_err());
    }

    #[test]
    fn checks_back_off_to_an_hour() {
        let age = Duration::seconds(60);
        assert_eq!(next_check_delay(age, 0), Duration::seconds(60));
        assert_eq!(next_check_delay(age, 1), Duration::seconds(120));
        assert_eq!(next_check_delay(age, 5), Duration::seconds(1920));
        assert_eq!(next_check_delay(age, 6), Duration::hours(1));
        assert_eq!(next_check_delay(age, 400), Duration::hours(1));
        assert_eq!(
            next_check_delay(Duration::hours(2), 0),
            Duration::hours(1),
            "never beyond an hour"
        );
    }

    #[test]
    fn gateway_keys_are_the_attempts_and_short() {
        let id = Uuid::now_v7();
        assert_eq!(gateway_key(id, 0), gateway_key(id, 0));
        assert_ne!(gateway_key(id, 0), gateway_key(id, 1));
        assert!(gateway_key(id, 99).len() <= 255);
    }
}
