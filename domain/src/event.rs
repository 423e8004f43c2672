//! The event catalogue: every kind of change paylater tells subscribers and webhooks about,
//! with its wire name. `docs/events.md` documents each one's data.

crate::vocabulary! {
    /// A kind of event. The wire name (`order.captured`) is what webhooks carry and
    /// endpoints subscribe to.
    pub enum EventType as "event type" {
        /// A shopper confirmed a checkout; its order exists.
        CheckoutCompleted = "checkout.completed",
        /// The merchant cancelled an open checkout.
        CheckoutCancelled = "checkout.cancelled",
        /// An open checkout passed its expiry.
        CheckoutExpired = "checkout.expired",
        /// An order was made and its first instalment charged.
        OrderAuthorized = "order.authorized",
        /// The merchant captured the order.
        OrderCaptured = "order.captured",
        /// The order was voided, by the merchant or when the capture window closed.
        OrderCancelled = "order.cancelled",
        /// Part or all of the order was refunded.
        OrderRefunded = "order.refunded",
        /// An instalment could not be charged after its retries.
        OrderOverdue = "order.overdue",
        /// Every instalment is paid.
        OrderCompleted = "order.completed",
        /// An instalment was paid, when due or early.
        InstallmentPaid = "installment.paid",
        /// Charging a due instalment failed.
        InstallmentFailed = "installment.failed",
    }
}

impl EventType {
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
