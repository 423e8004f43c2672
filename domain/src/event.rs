//! The event catalogue: every kind of change paylater tells subscribers and webhooks about,
//! with its wire name. `docs/events.md` documents each one's data.

use std::{fmt, str::FromStr};

/// A kind of event. The wire name (`order.captured`) is what webhooks carry and endpoints
/// subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A shopper confirmed a checkout; its order exists.
    CheckoutCompleted,
    /// The merchant cancelled an open checkout.
    CheckoutCancelled,
    /// An open checkout passed its expiry.
    CheckoutExpired,
    /// An order was made and its first instalment charged.
    OrderAuthorized,
    /// The merchant captured the order.
    OrderCaptured,
    /// The order was voided, by the merchant or when the capture window closed.
    OrderCancelled,
    /// Part or all of the order was refunded.
    OrderRefunded,
    /// An instalment could not be charged after its retries.
    OrderOverdue,
    /// Every instalment is paid.
    OrderCompleted,
    /// An instalment was paid, when due or early.
    InstallmentPaid,
    /// Charging a due instalment failed.
    InstallmentFailed,
}

impl EventType {
    /// Every event type, in catalogue order.
    pub const ALL: [EventType; 11] = [
        Self::CheckoutCompleted,
        Self::CheckoutCancelled,
        Self::CheckoutExpired,
        Self::OrderAuthorized,
        Self::OrderCaptured,
        Self::OrderCancelled,
        Self::OrderRefunded,
        Self::OrderOverdue,
        Self::OrderCompleted,
        Self::InstallmentPaid,
        Self::InstallmentFailed,
    ];

    /// The wire name, e.g. `order.captured`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CheckoutCompleted => "checkout.completed",
            Self::CheckoutCancelled => "checkout.cancelled",
            Self::CheckoutExpired => "checkout.expired",
            Self::OrderAuthorized => "order.authorized",
            Self::OrderCaptured => "order.captured",
            Self::OrderCancelled => "order.cancelled",
            Self::OrderRefunded => "order.refunded",
            Self::OrderOverdue => "order.overdue",
            Self::OrderCompleted => "order.completed",
            Self::InstallmentPaid => "installment.paid",
            Self::InstallmentFailed => "installment.failed",
        }
    }

    /// The kind of object the event is about, as stored in the outbox.
    pub fn aggregate_type(self) -> &'static str {
        match self {
            Self::CheckoutCompleted | Self::CheckoutCancelled | Self::CheckoutExpired => "checkout",
            Self::InstallmentPaid | Self::InstallmentFailed => "installment",
            _ => "order",
        }
    }

    /// Whether the event is about an order (its data then holds `orderId`).
    pub fn concerns_order(self) -> bool {
        self.aggregate_type() != "checkout"
    }
}

impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A wire name that is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_read_back() {
        for kind in EventType::ALL {
            assert_eq!(kind.as_str().parse::<EventType>(), Ok(kind));
        }
        assert!("order.exploded".parse::<EventType>().is_err());
        let json = serde_json::to_string(&EventType::OrderCaptured).unwrap();
        assert_eq!(json, "\"order.captured\"");
        assert_eq!(
            serde_json::from_str::<EventType>(&json).unwrap(),
            EventType::OrderCaptured
        );
    }
}
