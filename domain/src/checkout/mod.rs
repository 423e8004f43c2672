//! Checkout rules: what a merchant may ask for ([`request`]), how it is checked
//! ([`validation`]), the largest total allowed ([`maximum`]), how refusals are reported
//! ([`violation`]), and how a stored status reads once the expiry has passed.

mod maximum;
mod request;
mod validation;

pub use crate::violation::{Path, Violation, ViolationCode};
pub use maximum::{DEFAULT_MAX_TOTAL_MAJOR, LARGEST_MAX_TOTAL_MAJOR, MaxTotal};
pub use request::{
    Address, AmountInput, CheckoutRequest, Item, ItemRequest, ShopperData, ShopperHints,
    ValidCheckout,
};
pub use validation::{is_e164, is_safe_url, sum_of_parts, validate};

use chrono::{DateTime, Duration, Utc};

/// Most items one checkout may carry.
pub const MAX_ITEMS: usize = 100;
/// Largest quantity of one item.
pub const MAX_QUANTITY: i64 = 10_000;
/// Earliest allowed expiry, counted from creation.
pub const MIN_TTL: Duration = Duration::minutes(5);
/// Latest allowed expiry, counted from creation.
pub const MAX_TTL: Duration = Duration::hours(48);
crate::vocabulary! {
    /// Where a checkout is in its life. `Expired` is stored by the expiry sweep (or when an
    /// expired checkout's reference is reused); until then an open checkout past its expiry
    /// reads as expired.
    pub enum CheckoutStatus as "checkout status" {
        /// Waiting for the shopper.
        Open = "OPEN",
        /// The shopper confirmed it and the first payment is at the card gateway; it ends
        /// `Completed`, or `Open` again if the card is declined. It does not expire
        /// meanwhile.
        Confirming = "CONFIRMING",
        /// The shopper confirmed it and an order was made.
        Completed = "COMPLETED",
        /// The merchant cancelled it.
        Cancelled = "CANCELLED",
        /// Its expiry passed while it was open.
        Expired = "EXPIRED",
    }
}

impl CheckoutStatus {
    /// Whether the checkout's life is over: nothing will change it again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Expired)
    }

    /// The status a reader sees at `now`.
    pub fn effective(self, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if self == Self::Open && expires_at <= now {
            Self::Expired
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    #[test]
    fn open_checkouts_expire_at_their_expiry() {
        let at = now();
        assert_eq!(
            CheckoutStatus::Open.effective(at, at),
            CheckoutStatus::Expired
        );
        assert_eq!(
            CheckoutStatus::Open.effective(at + Duration::milliseconds(1), at),
            CheckoutStatus::Open
        );
        assert_eq!(
            CheckoutStatus::Cancelled.effective(at, at),
            CheckoutStatus::Cancelled
        );
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            CheckoutStatus::Open,
            CheckoutStatus::Completed,
            CheckoutStatus::Cancelled,
            CheckoutStatus::Expired,
        ] {
            assert_eq!(status.as_str().parse::<CheckoutStatus>().unwrap(), status);
        }
        assert!("open".parse::<CheckoutStatus>().is_err());
    }
}
