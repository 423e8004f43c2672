//! An event as it leaves the outbox: what subscribers and webhooks receive.

use chrono::{DateTime, Utc};
use entity::outbox_event;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::{event::EventType, vocabulary::UnknownName};

/// An event as subscribers and webhooks receive it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PublishedEvent {
    /// The event's id: the same event relayed twice has the same id.
    pub id: Uuid,
    /// What happened.
    pub event_type: EventType,
    /// The object's id (a checkout, an order or an instalment, as the type says).
    pub aggregate_id: Uuid,
    /// The merchant concerned.
    pub merchant_id: Option<Uuid>,
    /// The consumer concerned, if any.
    pub consumer_id: Option<Uuid>,
    /// The order concerned, for order and instalment events.
    pub order_id: Option<Uuid>,
    /// The checkout concerned, for checkout events.
    pub checkout_id: Option<Uuid>,
    /// The event's data (row ids; see [`super::envelope`] for what goes out).
    pub data: Value,
    /// When the change committed.
    pub created_at: DateTime<Utc>,
}

/// Why a stored row is not an event this version understands.
#[derive(Debug, thiserror::Error)]
pub enum UnreadableEvent {
    /// The type is not in the catalogue.
    #[error(transparent)]
    Type(#[from] UnknownName),
    /// The data is not JSON.
    #[error("payload is not JSON: {0}")]
    Payload(#[from] serde_json::Error),
}

impl TryFrom<outbox_event::Model> for PublishedEvent {
    type Error = UnreadableEvent;

    fn try_from(row: outbox_event::Model) -> Result<Self, UnreadableEvent> {
        let event_type: EventType = row.event_type.parse()?;
        let data: Value = serde_json::from_str(&row.payload)?;
        let id_at = |key: &str| data.get(key).and_then(|v| v.as_str()?.parse().ok());
        Ok(Self {
            order_id: id_at("orderId"),
            checkout_id: id_at("checkoutId"),
            id: row.id,
            event_type,
            aggregate_id: row.aggregate_id,
            merchant_id: row.merchant_id,
            consumer_id: row.consumer_id,
            data,
            created_at: row.created_at.0,
        })
    }
}
