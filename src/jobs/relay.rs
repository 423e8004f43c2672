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
use uuid::Uuid;

use crate::{
    events::PublishedEvent,
    service::{Deps, ServiceResult},
};

/// A batch of events claimed by this relay, oldest first, held until acknowledged.
pub struct Claimed {
    txn: DatabaseTransaction,
    events: Vec<PublishedEvent>,
    ids: Vec<Uuid>,
}

impl Claimed {
    /// The claimed events, in the order they happened.
    pub fn events(&self) -> &[PublishedEvent] {
        &self.events
    }

    /// The transaction holding the claim, for work that must commit with it.
    pub fn transaction(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Marks the claimed rows published at `now` and returns how many there were.
    /// Dropping a batch instead (a crash) leaves them to be relayed again.
    pub async fn acknowledge(self, now: DateTime<Utc>) -> ServiceResult<usize> {
        if !self.ids.is_empty() {
            outbox_event::Entity::update_many()
                .col_expr(
                    outbox_event::Column::PublishedAt,
                    Expr::value(now.timestamp_millis()),
                )
                .filter(outbox_event::Column::Id.is_in(self.ids.iter().copied()))
                .exec(&self.txn)
                .await?;
        }
        self.txn.commit().await?;
        Ok(self.ids.len())
    }
}

fn unpublished() -> sea_orm::Select<outbox_event::Entity> {
    outbox_event::Entity::find().filter(outbox_event::Column::PublishedAt.is_null())
}

/// Claims up to `limit` unpublished events, oldest first. A row this version cannot read
/// is logged and claimed without being published, so it cannot hold up the rest.
pub async fn claim(deps: &Deps, limit: u64) -> ServiceResult<Claimed> {
    let txn = crate::db::begin_write(&deps.db).await?;
    let rows = unpublished()
        .order_by_asc(outbox_event::Column::CreatedAt)
        .order_by_asc(outbox_event::Column::Id)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    let ids = rows.iter().map(|row| row.id).collect();
    let events = rows
        .into_iter()
        .filter_map(|row| {
            let id = row.id;
            PublishedEvent::try_from(row)
                .inspect_err(|err| tracing::error!(event_id = %id, error = %err, "skipping an unreadable outbox event"))
                .ok()
        })
        .collect();
    Ok(Claimed { txn, events, ids })
}

/// Relays one batch: claim, queue its webhooks, publish it to the bus, acknowledge (the
/// webhooks commit with the acknowledgement). Returns how many rows it took; none when
/// nothing waits, without taking a write lock.
pub async fn relay_once(deps: &Deps, now: DateTime<Utc>, limit: u64) -> ServiceResult<usize> {
    if unpublished().one(&deps.db).await?.is_none() {
        return Ok(0);
    }
    let claimed = claim(deps, limit).await?;
    let queued =
        super::webhook_fanout::queue(claimed.transaction(), claimed.events(), deps.live_mode, now)
            .await?;
    for event in claimed.events() {
        deps.events.publish(event.clone());
    }
    let relayed = claimed.acknowledge(now).await?;
    if queued > 0 {
        deps.events.deliveries_queued();
    }
    Ok(relayed)
}
