//! Retention: outbox events once published, and webhook deliveries once finished
//! (delivered, or given up), are deleted when older than their configured retention, so
//! neither table grows for ever. Unpublished events and pending deliveries are never
//! deleted, however old. Each round deletes at most a batch of each, by id, so no
//! statement holds locks on a large part of a table.
//!
//! Age is measured on the business clock (the `now` a run is given), because the times
//! compared with it (`published_at`, a delivery's `updated_at`) were written from that
//! clock: under the sandbox's test clock, events made "days ahead" age with it, and in a
//! deployment both clocks are the wall clock anyway.

use chrono::{DateTime, Utc};
use entity::{outbox_event, webhook_delivery};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    domain::webhook::DeliveryStatus,
    service::{Deps, ServiceResult},
};

/// What one round of pruning deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Published outbox events deleted.
    pub outbox_events: usize,
    /// Finished webhook deliveries deleted, with their attempts.
    pub webhook_deliveries: usize,
}

/// Published outbox events older than their retention at `now`.
fn expired_events(deps: &Deps, now: DateTime<Utc>) -> Condition {
    let cutoff = now - deps.retention.outbox_events;
    Condition::all().add(outbox_event::Column::PublishedAt.lt(cutoff.timestamp_millis()))
}

/// Finished webhook deliveries older than their retention at `now`.
fn expired_deliveries(deps: &Deps, now: DateTime<Utc>) -> Condition {
    use webhook_delivery::Column;
    let cutoff = now - deps.retention.webhook_deliveries;
    Condition::all()
        .add(Column::Status.is_in([DeliveryStatus::Succeeded, DeliveryStatus::Failed]))
        .add(Column::UpdatedAt.lt(cutoff.timestamp_millis()))
}

/// Deletes up to `limit` rows of `E` matching `expired`: their ids first, then those rows
/// if they still match (a row changed meanwhile, say a delivery sent again, stays).
async fn delete_batch<E: EntityTrait>(
    db: &DatabaseConnection,
    id: E::Column,
    expired: Condition,
    limit: u64,
) -> ServiceResult<usize> {
    let ids: Vec<Uuid> = E::find()
        .select_only()
        .column(id)
        .filter(expired.clone())
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let deleted = E::delete_many()
        .filter(id.is_in(ids))
        .filter(expired)
        .exec(db)
        .await?;
    Ok(usize::try_from(deleted.rows_affected).unwrap_or(usize::MAX))
}

/// Deletes up to `limit` published outbox events and up to `limit` finished deliveries
/// past their retention at `now`. A delivery's attempts go with it (the foreign key
/// cascades).
pub async fn prune_once(deps: &Deps, now: DateTime<Utc>, limit: u64) -> ServiceResult<Pruned> {
    Ok(Pruned {
        outbox_events: delete_batch::<outbox_event::Entity>(
            &deps.db,
            outbox_event::Column::Id,
            expired_events(deps, now),
            limit,
        )
        .await?,
        webhook_deliveries: delete_batch::<webhook_delivery::Entity>(
            &deps.db,
            webhook_delivery::Column::Id,
            expired_deliveries(deps, now),
            limit,
        )
        .await?,
    })
}
