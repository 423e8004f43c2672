//! The delivery job: POSTs due deliveries, signed, and records each attempt. A delivery is
//! claimed by moving its next attempt a lease ahead with a guarded update, so several
//! instances never send it at once and one that dies mid-request leaves it due again once
//! the lease passes (at least once). A failure is retried with growing, jittered waits
//! for the retry window; an endpoint failing for the whole window is disabled.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint};
use futures_util::{StreamExt, stream};
use sea_orm::{
    ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::events::webhook_sender::Outcome;
use crate::{
    auth::signing,
    domain::webhook::{DeliveryStatus, EndpointStatus, next_attempt, should_disable},
    service::unit_of_work::UnitOfWork,
    service::{Deps, ServiceResult, audit::Actor, webhooks::signing_secrets},
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

fn pending() -> sea_orm::Select<webhook_delivery::Entity> {
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
}

/// Takes a delivery for one attempt: its attempt count goes up and its next attempt moves
/// a lease ahead, unless another instance took it first.
async fn claim(
    deps: &Deps,
    row: &webhook_delivery::Model,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    use webhook_delivery::Column;
    let lease = chrono::Duration::from_std(deps.webhook_sender.lease())
        .unwrap_or(chrono::Duration::minutes(5));
    let claimed = webhook_delivery::Entity::update_many()
        .col_expr(Column::AttemptCount, Expr::value(row.attempt_count + 1))
        .col_expr(
            Column::NextAttemptAt,
            Expr::value((now + lease).timestamp_millis()),
        )
        .filter(Column::Id.eq(row.id))
        .filter(Column::Status.eq(DeliveryStatus::Pending))
        .filter(Column::AttemptCount.eq(row.attempt_count))
        .filter(Column::NextAttemptAt.lte(now.timestamp_millis()))
        .exec(&deps.db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Sends every delivery due at `now`, up to `limit`, and records the attempts.
pub async fn deliver_due(
    deps: &Deps,
    now: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<DeliveryReport> {
    let due = pending()
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now.timestamp_millis()))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(limit)
        .all(&deps.db)
        .await?;
    let mut claimed = Vec::with_capacity(due.len());
    for row in due {
        if claim(deps, &row, now).await? {
            claimed.push(webhook_delivery::Model {
                attempt_count: row.attempt_count + 1,
                ..row
            });
        }
    }
    if claimed.is_empty() {
        return Ok(DeliveryReport::default());
    }
    let endpoints: HashMap<Uuid, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(claimed.iter().map(|row| row.endpoint_id)))
        .all(&deps.db)
        .await?
        .into_iter()
        .map(|endpoint| (endpoint.id, endpoint))
        .collect();
    let attempts: Vec<_> = stream::iter(claimed)
        .map(|row| {
            let endpoint = endpoints.get(&row.endpoint_id);
            async move {
                let outcome = attempt(deps, endpoint, &row, now).await?;
                Ok::<_, crate::service::ServiceError>((row, outcome))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = DeliveryReport::default();
    for attempted in attempts {
        let (row, outcome) = attempted?;
        if outcome.succeeded() {
            report.delivered += 1;
        } else {
            report.failed += 1;
        }
        let endpoint = endpoints.get(&row.endpoint_id);
        record(deps, endpoint, &row, &outcome, now).await?;
    }
    Ok(report)
}

/// POSTs one delivery, signed with every secret valid at `now`.
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
    let signature = signing::header(now.timestamp(), &secrets, row.payload.as_bytes());
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
/// due again later, or given up; the endpoint healthy again, or failing, or disabled.
async fn record(
    deps: &Deps,
    endpoint: Option<&webhook_endpoint::Model>,
    row: &webhook_delivery::Model,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    use webhook_delivery::Column;
    let mut work = UnitOfWork::begin(deps).await?;
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
    let enabled = endpoint.is_some_and(|e| e.status == EndpointStatus::Enabled);
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
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(
            Column::NextAttemptAt,
            Expr::value(next.map(|at| at.timestamp_millis())),
        )
        .col_expr(Column::RedeliveryRequested, Expr::value(false))
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
        endpoint_health(deps, &mut work, endpoint.id, outcome, now).await?;
    }
    work.commit().await?;
    Ok(())
}

/// After an attempt: a success clears the endpoint's run of failures; a failure starts or
/// extends it, and one as long as the retry window disables the endpoint and gives up its
/// pending deliveries.
async fn endpoint_health(
    deps: &Deps,
    work: &mut UnitOfWork<'_>,
    endpoint_id: Uuid,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    use webhook_endpoint::Column;
    let Some(endpoint) = webhook_endpoint::Entity::find_by_id(endpoint_id)
        .lock_exclusive()
        .one(work.txn())
        .await?
    else {
        return Ok(());
    };
    if endpoint.status != EndpointStatus::Enabled {
        return Ok(());
    }
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
