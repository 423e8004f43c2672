//! The delivery job: POSTs due deliveries, signed, and records each attempt. Two clocks
//! meet here. Business time (the clock, which the sandbox's test clock may move, or the
//! time a run is asked to run as of) decides when a delivery is due and is what the log
//! records. The wall clock of the machine governs what concerns real processes: a
//! delivery is claimed for one attempt by a guarded update that sets `claimed_until` a
//! lease ahead on the wall clock, so exactly one sender holds it whatever time each
//! sender runs as of, and one that dies mid-request lets it go once the lease passes (at
//! least once); and requests are signed with the wall-clock time of sending, which is
//! what receivers compare to their own clocks. A failure is retried with growing,
//! jittered waits for the retry window; an endpoint failing for the whole window is
//! disabled.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint};
use futures_util::{StreamExt, stream};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::events::webhook_sender::Outcome;
use crate::{
    auth::signing,
    clock::{Clock, SystemClock},
    domain::webhook::{DeliveryStatus, EndpointStatus, next_attempt, should_disable},
    service::unit_of_work::UnitOfWork,
    service::{Deps, ServiceResult, audit::Actor, retry_transient, webhooks::signing_secrets},
};

/// How many requests run at once.
const CONCURRENCY: usize = 8;

/// What one run of the delivery job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryReport {
    /// Attempts answered with a 2xx.
    pub delivered: usize,
    /// Attempts that failed.
    pub failed: usize,
}

/// The machine's own time, for claims and signatures: unlike the business clock, it is
/// the same for every sender and for the receiver.
fn wall_clock() -> DateTime<Utc> {
    SystemClock.now()
}

/// A pending delivery that no sender holds at `wall` (wall-clock time).
fn unclaimed(wall: DateTime<Utc>) -> Condition {
    use webhook_delivery::Column;
    Condition::all()
        .add(Column::Status.eq(DeliveryStatus::Pending))
        .add(
            Condition::any()
                .add(Column::ClaimedUntil.is_null())
                .add(Column::ClaimedUntil.lte(wall.timestamp_millis())),
        )
}

/// Takes a delivery due at `now` for one attempt: its attempt count goes up and it is
/// held until a lease past `wall`, unless another sender took it first. The update only
/// matches the attempt count read and an unheld row, so of senders racing for it exactly
/// one succeeds, whatever their notions of "now".
async fn claim(
    deps: &Deps,
    row: &webhook_delivery::Model,
    now: DateTime<Utc>,
    wall: DateTime<Utc>,
) -> ServiceResult<bool> {
    use webhook_delivery::Column;
    let lease = chrono::Duration::from_std(deps.webhook_sender.lease())
        .unwrap_or(chrono::Duration::minutes(5));
    let claimed = webhook_delivery::Entity::update_many()
        .col_expr(Column::AttemptCount, Expr::value(row.attempt_count + 1))
        .col_expr(
            Column::ClaimedUntil,
            Expr::value((wall + lease).timestamp_millis()),
        )
        .filter(Column::Id.eq(row.id))
        .filter(Column::AttemptCount.eq(row.attempt_count))
        .filter(Column::NextAttemptAt.lte(now.timestamp_millis()))
        .filter(unclaimed(wall))
        .exec(&deps.db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Sends every delivery due at `now`, up to `limit`, and records the attempts. Each
/// delivery is claimed just before its request and recorded just after, so its lease
/// covers one request however long the batch takes.
pub async fn deliver_due(
    deps: &Deps,
    now: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<DeliveryReport> {
    let due = webhook_delivery::Entity::find()
        .filter(unclaimed(wall_clock()))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now.timestamp_millis()))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(limit)
        .all(&deps.db)
        .await?;
    if due.is_empty() {
        return Ok(DeliveryReport::default());
    }
    let endpoints: HashMap<Uuid, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(due.iter().map(|row| row.endpoint_id)))
        .all(&deps.db)
        .await?
        .into_iter()
        .map(|endpoint| (endpoint.id, endpoint))
        .collect();
    let sent: Vec<ServiceResult<Option<bool>>> = stream::iter(due)
        .map(|row| send(deps, endpoints.get(&row.endpoint_id), row, now))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = DeliveryReport::default();
    for succeeded in sent {
        match succeeded? {
            Some(true) => report.delivered += 1,
            Some(false) => report.failed += 1,
            None => {}
        }
    }
    Ok(report)
}

/// Claims, POSTs and records one delivery; whether it succeeded, or `None` when another
/// sender holds it.
async fn send(
    deps: &Deps,
    endpoint: Option<&webhook_endpoint::Model>,
    row: webhook_delivery::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Option<bool>> {
    if !claim(deps, &row, now, wall_clock()).await? {
        return Ok(None);
    }
    let row = webhook_delivery::Model {
        attempt_count: row.attempt_count + 1,
        ..row
    };
    let outcome = attempt(deps, endpoint, &row, now).await?;
    retry_transient(|| record(deps, endpoint, &row, &outcome, now)).await?;
    Ok(Some(outcome.succeeded()))
}

/// POSTs one delivery, signed with every secret valid at `now` (business time, as secret
/// rotations are recorded) and stamped with the wall-clock time of sending, which
/// receivers check against their own clocks.
async fn attempt(
    deps: &Deps,
    endpoint: Option<&webhook_endpoint::Model>,
    row: &webhook_delivery::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Outcome> {
    let Some(endpoint) = endpoint.filter(|e| e.status == EndpointStatus::Enabled) else {
        return Ok(Outcome {
            status_code: None,
            error: Some("the endpoint is disabled".to_owned()),
            duration: std::time::Duration::ZERO,
        });
    };
    let secrets = signing_secrets(deps, endpoint, now)?;
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let signed_at = wall_clock().timestamp();
    let signature = signing::header(signed_at, &secrets, row.payload.as_bytes());
    let headers = [
        (signing::SIGNATURE_HEADER, signature),
        ("paylater-event-id", row.event_id.to_string()),
        ("paylater-event-type", row.event_type.to_string()),
        ("paylater-delivery-id", row.id.to_string()),
        ("paylater-attempt", row.attempt_count.to_string()),
    ];
    Ok(deps
        .webhook_sender
        .post(&endpoint.url, &headers, row.payload.clone())
        .await)
}

/// Stores an attempt and what follows from it, in one transaction: the delivery done, or
/// due again later, or given up; the endpoint healthy again, or failing, or disabled. The
/// endpoint it was sent to is locked first, as everything that changes an endpoint's
/// deliveries locks the endpoint before them, so concurrent records never deadlock.
async fn record(
    deps: &Deps,
    endpoint: Option<&webhook_endpoint::Model>,
    row: &webhook_delivery::Model,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    use webhook_delivery::Column;
    let mut work = UnitOfWork::begin(deps).await?;
    let endpoint = match endpoint.filter(|e| e.status == EndpointStatus::Enabled) {
        Some(sent_to) => {
            webhook_endpoint::Entity::find_by_id(sent_to.id)
                .lock_exclusive()
                .one(work.txn())
                .await?
        }
        None => None,
    };
    let at = ChronoUnixTimestampMillis(now);
    webhook_attempt::Entity::insert(
        webhook_attempt::Model {
            id: Uuid::now_v7(),
            delivery_id: row.id,
            number: row.attempt_count,
            started_at: at,
            duration_ms: i32::try_from(outcome.duration.as_millis()).unwrap_or(i32::MAX),
            status_code: outcome.status_code.map(i32::from),
            error: outcome.error.clone(),
            redelivery: row.redelivery_requested,
        }
        .into_active_model(),
    )
    .exec_without_returning(work.txn())
    .await?;
    let window = deps.webhooks.retry_window;
    let enabled = endpoint
        .as_ref()
        .is_some_and(|e| e.status == EndpointStatus::Enabled);
    let next = if outcome.succeeded() || !enabled {
        None
    } else {
        let attempt = u32::try_from(row.attempt_count).unwrap_or(u32::MAX);
        next_attempt(row.created_at.0, now, attempt, window, rand::random())
    };
    let status = match (outcome.succeeded(), next) {
        (true, _) => DeliveryStatus::Succeeded,
        (false, Some(_)) => DeliveryStatus::Pending,
        (false, None) => DeliveryStatus::Failed,
    };
    crate::metrics::webhook_attempt(status);
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(
            Column::NextAttemptAt,
            Expr::value(next.map(|at| at.timestamp_millis())),
        )
        .col_expr(Column::RedeliveryRequested, Expr::value(false))
        .col_expr(Column::ClaimedUntil, Expr::value(Option::<i64>::None))
        .col_expr(
            Column::LastStatusCode,
            Expr::value(outcome.status_code.map(i32::from)),
        )
        .col_expr(Column::LastError, Expr::value(outcome.error.clone()))
        .col_expr(Column::UpdatedAt, Expr::value(now.timestamp_millis()));
    if outcome.succeeded() && row.delivered_at.is_none() {
        update = update.col_expr(Column::DeliveredAt, Expr::value(now.timestamp_millis()));
    }
    // A stale worker whose lease passed and whose delivery was taken again changes nothing.
    update
        .filter(Column::Id.eq(row.id))
        .filter(Column::AttemptCount.eq(row.attempt_count))
        .exec(work.txn())
        .await?;
    if let Some(endpoint) = endpoint.filter(|_| enabled) {
        endpoint_health(deps, &mut work, &endpoint, outcome, now).await?;
    }
    work.commit().await?;
    Ok(())
}

/// After an attempt: a success clears the endpoint's run of failures; a failure starts or
/// extends it, and one as long as the retry window disables the endpoint and gives up its
/// pending deliveries. `endpoint` is enabled, and locked by `work`.
async fn endpoint_health(
    deps: &Deps,
    work: &mut UnitOfWork<'_>,
    endpoint: &webhook_endpoint::Model,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    use webhook_endpoint::Column;
    let endpoint_id = endpoint.id;
    if outcome.succeeded() {
        if endpoint.failing_since.is_some() {
            webhook_endpoint::Entity::update_many()
                .col_expr(Column::FailingSince, Expr::value(Option::<i64>::None))
                .filter(Column::Id.eq(endpoint_id))
                .exec(work.txn())
                .await?;
        }
        return Ok(());
    }
    let since = endpoint.failing_since.map_or(now, |since| since.0);
    if !should_disable(since, now, deps.webhooks.retry_window) {
        if endpoint.failing_since.is_none() {
            webhook_endpoint::Entity::update_many()
                .col_expr(Column::FailingSince, Expr::value(now.timestamp_millis()))
                .filter(Column::Id.eq(endpoint_id))
                .exec(work.txn())
                .await?;
        }
        return Ok(());
    }
    let hours = deps.webhooks.retry_window.num_hours();
    let reason = format!(
        "every delivery failed for {hours} hours (last: {}); set the endpoint again to enable it",
        outcome.error.as_deref().unwrap_or("unknown error")
    );
    webhook_endpoint::Entity::update_many()
        .col_expr(Column::Status, Expr::value(EndpointStatus::Disabled))
        .col_expr(Column::DisabledReason, Expr::value(reason.clone()))
        .col_expr(Column::UpdatedAt, Expr::value(now.timestamp_millis()))
        .filter(Column::Id.eq(endpoint_id))
        .exec(work.txn())
        .await?;
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Failed),
        )
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            webhook_delivery::Column::LastError,
            Expr::value("the endpoint was disabled"),
        )
        .col_expr(
            webhook_delivery::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(work.txn())
        .await?;
    let target = Some(("webhook_endpoint", endpoint_id));
    let details = json!({ "reason": reason });
    work.audit(
        &Actor::system(),
        "webhook_endpoint.disabled",
        target,
        details,
        now,
    );
    Ok(())
}
