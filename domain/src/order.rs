//! Orders and their instalments: the states they move through and which moves are allowed.
//!
//! ```text
//! AUTHORIZED ──capture──▶ CAPTURED ──all paid──▶ COMPLETED
//!     │                    │  ▲ │
//!     └─void──▶ CANCELLED  │  │ └─full refund──▶ REFUNDED
//!                          ▼  │
//!                        OVERDUE (an instalment failed all its retries, until paid)
//! ```

use std::{fmt, str::FromStr};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Confirmed and first instalment charged; the merchant has not captured yet.
    Authorized,
    /// The merchant captured; instalments are being collected.
    Captured,
    /// An instalment could not be collected after its retries.
    Overdue,
    /// Every instalment is paid (or cancelled by refunds).
    Completed,
    /// Voided before capture: the first instalment refunded, the rest cancelled.
    Cancelled,
    /// Refunded in full after capture.
    Refunded,
}

impl OrderStatus {
    /// Every status, for parsing and listing.
    pub const ALL: [Self; 6] = [
        Self::Authorized,
        Self::Captured,
        Self::Overdue,
        Self::Completed,
        Self::Cancelled,
        Self::Refunded,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorized => "AUTHORIZED",
            Self::Captured => "CAPTURED",
            Self::Overdue => "OVERDUE",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
            Self::Refunded => "REFUNDED",
        }
    }

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

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("unknown order status {text:?}"))
    }
}

/// Where an instalment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstallmentStatus {
    /// Due on its date, not charged yet.
    Scheduled,
    /// Charged successfully.
    Paid,
    /// The last charge failed; another attempt is planned.
    Failed,
    /// Every retry failed; the shopper must pay it.
    Overdue,
    /// Removed by a refund or a void; nothing is owed.
    Cancelled,
}

impl InstallmentStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Scheduled,
        Self::Paid,
        Self::Failed,
        Self::Overdue,
        Self::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Paid => "PAID",
            Self::Failed => "FAILED",
            Self::Overdue => "OVERDUE",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Still owed by the shopper.
    pub fn is_unpaid(self) -> bool {
        matches!(self, Self::Scheduled | Self::Failed | Self::Overdue)
    }
}

impl fmt::Display for InstallmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstallmentStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("unknown instalment status {text:?}"))
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
