//! The transactional outbox: every change that others must hear about writes its event
//! here, in the same transaction as the change, so an event exists exactly when its change
//! committed. A relay publishes them later.

use chrono::{DateTime, Utc};
use entity::outbox_event;
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, prelude::ChronoUnixTimestampMillis,
};
use serde_json::Value;
use uuid::Uuid;

/// What happened, to which object, for which merchant.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event type, e.g. `order.authorized`.
    pub event_type: &'static str,
    /// The kind of object, e.g. `order`.
    pub aggregate_type: &'static str,
    /// The object's id.
    pub aggregate_id: Uuid,
    /// The merchant whose webhooks receive it.
    pub merchant_id: Option<Uuid>,
    /// The event's data.
    pub payload: Value,
}

/// Appends an event at `at`.
pub async fn record(
    conn: &impl ConnectionTrait,
    event: Event,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = outbox_event::Model {
        id: Uuid::now_v7(),
        event_type: event.event_type.to_owned(),
        aggregate_type: event.aggregate_type.to_owned(),
        aggregate_id: event.aggregate_id,
        merchant_id: event.merchant_id,
        payload: event.payload.to_string(),
        created_at: ChronoUnixTimestampMillis(at),
        published_at: None,
    };
    outbox_event::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
