//! Orders and their instalments: the states they move through and which moves are allowed.
//!
//! ```text
//! AUTHORIZED ──capture──▶ CAPTURED ──all paid──▶ COMPLETED
//!     │                    │  ▲ │
//!     └─void──▶ CANCELLED  │  │ └─full refund──▶ REFUNDED
//!                          ▼  │
//!                        OVERDUE (an instalment failed all its retries, until paid)
//! ```

crate::vocabulary! {
    /// Where an order is in its life.
    pub enum OrderStatus as "order status" {
        /// Confirmed and first instalment charged; the merchant has not captured yet.
        Authorized = "AUTHORIZED",
        /// The merchant captured; instalments are being collected.
        Captured = "CAPTURED",
        /// An instalment could not be collected after its retries.
        Overdue = "OVERDUE",
        /// Every instalment is paid (or cancelled by refunds).
        Completed = "COMPLETED",
        /// Voided before capture: the first instalment refunded, the rest cancelled.
        Cancelled = "CANCELLED",
        /// Refunded in full after capture.
        Refunded = "REFUNDED",
    }
}

impl OrderStatus {
    /// Whether the shopper still owes instalments on it (counts against the spending limit).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Authorized | Self::Captured | Self::Overdue)
    }

    /// Whether the merchant may capture it.
    pub fn can_capture(self) -> bool {
        self == Self::Authorized
    }

    /// Whether the merchant may void it.
    pub fn can_void(self) -> bool {
        self == Self::Authorized
    }

    /// Whether the merchant may refund it (captured, and not refunded in full yet).
    pub fn can_refund(self) -> bool {
        matches!(self, Self::Captured | Self::Overdue | Self::Completed)
    }
}

crate::vocabulary! {
    /// Where an instalment is.
    pub enum InstallmentStatus as "instalment status" {
        /// Due on its date, not charged yet.
        Scheduled = "SCHEDULED",
        /// Charged successfully.
        Paid = "PAID",
        /// The last charge failed; another attempt is planned.
        Failed = "FAILED",
        /// Every retry failed; the shopper must pay it.
        Overdue = "OVERDUE",
        /// Removed by a refund or a void; nothing is owed.
        Cancelled = "CANCELLED",
    }
}

impl InstallmentStatus {
    /// Still owed by the shopper.
    pub fn is_unpaid(self) -> bool {
        matches!(self, Self::Scheduled | Self::Failed | Self::Overdue)
    }
}

crate::vocabulary! {
    /// How one charge of a card ended, as the order's payments record it.
    pub enum PaymentStatus as "payment status" {
        /// The card was charged.
        Succeeded = "SUCCEEDED",
        /// The card was declined or the charge failed.
        Failed = "FAILED",
    }
}

/// How long after a failed charge the next attempt comes, by attempts made so far; after
/// the last, the instalment is overdue.
pub const RETRY_DELAYS_DAYS: [i64; 3] = [1, 3, 7];

/// When to try again after `attempts` failed charges, or `None` when it is now overdue.
pub fn retry_delay_days(attempts: u32) -> Option<i64> {
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    RETRY_DELAYS_DAYS.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>(), Ok(status));
        }
        for status in InstallmentStatus::ALL {
            assert_eq!(status.as_str().parse::<InstallmentStatus>(), Ok(status));
        }
        assert!("PAID".parse::<OrderStatus>().is_err());
    }

    #[test]
    fn moves_follow_the_lifecycle() {
        assert!(OrderStatus::Authorized.can_capture() && OrderStatus::Authorized.can_void());
        assert!(!OrderStatus::Captured.can_void() && !OrderStatus::Captured.can_capture());
        assert!(!OrderStatus::Authorized.can_refund());
        assert!(OrderStatus::Completed.can_refund());
        assert!(!OrderStatus::Refunded.can_refund() && !OrderStatus::Cancelled.can_refund());
    }

    #[test]
    fn retries_back_off_then_stop() {
        assert_eq!(retry_delay_days(0), None);
        assert_eq!(retry_delay_days(1), Some(1));
        assert_eq!(retry_delay_days(3), Some(7));
        assert_eq!(retry_delay_days(4), None);
    }
}
