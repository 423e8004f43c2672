//! The outbox relay: reads unpublished outbox rows in order, hands each to the event bus,
//! then marks them published. A crash between publishing and marking publishes them again
//! (at least once; each event has an id for de-duplication), and a crash before publishing
//! loses nothing, since the rows stay unpublished. Rows are claimed with
//! `FOR UPDATE SKIP LOCKED` on MySQL, so several instances relay different events.

use chrono::{DateTime, Utc};
use entity::outbox_event;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType},
};
use serde_json::Value;
use uuid::Uuid;

use crate::service::{ServiceError, ServiceResult, Services};

/// An event as subscribers and webhooks receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEvent {
    /// The event's id: the same event relayed twice has the same id.
    pub id: Uuid,
    /// What happened, e.g. `order.captured` (see docs/events.md).
    pub event_type: String,
    /// The kind of object, e.g. `order`.
    pub aggregate_type: String,
    /// The object's id.
    pub aggregate_id: Uuid,
    /// The merchant concerned.
    pub merchant_id: Option<Uuid>,
    /// The event's data.
    pub payload: Value,
    /// When the change committed.
    pub created_at: DateTime<Utc>,
}

impl TryFrom<outbox_event::Model> for PublishedEvent {
    type Error = ServiceError;

    fn try_from(row: outbox_event::Model) -> ServiceResult<Self> {
        Ok(Self {
            payload: serde_json::from_str(&row.payload)
                .map_err(|err| ServiceError::internal(format!("outbox payload: {err}")))?,
            id: row.id,
            event_type: row.event_type,
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
            merchant_id: row.merchant_id,
            created_at: row.created_at.0,
        })
    }
}

/// A batch of events claimed by this relay, oldest first, held until acknowledged.
pub struct Claimed {
    txn: DatabaseTransaction,
    events: Vec<PublishedEvent>,
}

impl Claimed {
    /// The claimed events, in the order they happened.
    pub fn events(&self) -> &[PublishedEvent] {
        &self.events
    }

    /// Marks the events published at `now`. Dropping a batch instead (a crash) leaves them
    /// to be relayed again.
    pub async fn acknowledge(self, now: DateTime<Utc>) -> ServiceResult<usize> {
        let ids: Vec<Uuid> = self.events.iter().map(|e| e.id).collect();
        if !ids.is_empty() {
            outbox_event::Entity::update_many()
                .col_expr(
                    outbox_event::Column::PublishedAt,
                    Expr::value(now.timestamp_millis()),
                )
                .filter(outbox_event::Column::Id.is_in(ids.iter().copied()))
                .exec(&self.txn)
                .await?;
        }
        self.txn.commit().await?;
        Ok(ids.len())
    }
}

/// Claims up to `limit` unpublished events, oldest first.
pub async fn claim(services: &Services, limit: u64) -> ServiceResult<Claimed> {
    let txn = crate::db::begin_write(&services.db).await?;
    let rows = outbox_event::Entity::find()
        .filter(outbox_event::Column::PublishedAt.is_null())
        .order_by_asc(outbox_event::Column::CreatedAt)
        .order_by_asc(outbox_event::Column::Id)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    let events = rows
        .into_iter()
        .map(PublishedEvent::try_from)
        .collect::<ServiceResult<Vec<_>>>()?;
    Ok(Claimed { txn, events })
}

/// Relays one batch: claim, publish to the bus, acknowledge. Returns how many events.
pub async fn relay_once(
    services: &Services,
    now: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<usize> {
    let claimed = claim(services, limit).await?;
    for event in claimed.events() {
        services.events.publish(event.clone());
    }
    claimed.acknowledge(now).await
}
