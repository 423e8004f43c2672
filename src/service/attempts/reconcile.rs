//! The reconciler: finishes payment attempts that their requests left pending (the
//! gateway did not answer, the process died between phases, the outcome could not be
//! written), by asking the gateway again under the same idempotency keys, then settling
//! them like their requests would have. It also forgets claimed idempotency keys whose
//! requests died before recording a payment, so they run again when sent again.

use chrono::{DateTime, Utc};
use entity::payment_attempt;
use futures_util::{StreamExt, stream};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};

use super::{Settlement, Transfer, ask, legs, settle};
use crate::{
    domain::attempt::{AttemptKind, AttemptStatus, RETRY_HORIZON, next_check_delay},
    service::{Deps, ServiceError, ServiceResult, idempotency, payment_methods},
};

/// How many attempts the reconciler asks the gateway about at once.
const CONCURRENCY: usize = 16;

/// What a round of the reconciler did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Attempts settled.
    pub settled: usize,
    /// Attempts the gateway still did not answer (asked again later), or that are past
    /// the retry horizon and wait for an operator.
    pub unanswered: usize,
    /// Claimed idempotency keys forgotten because their requests died.
    pub released_keys: u64,
}

/// Finishes, as of `now`, up to `limit` pending attempts due for another look; each kind
/// is settled by `settlement_for(kind)`.
pub async fn reconcile(
    deps: &Deps,
    now: DateTime<Utc>,
    limit: u64,
    settlement_for: fn(AttemptKind) -> &'static dyn Settlement,
) -> ServiceResult<Reconciled> {
    let released_keys = idempotency::release_stale(&deps.db, now, deps.reconcile_after).await?;
    let due = payment_attempt::Entity::find()
        .filter(payment_attempt::Column::Status.eq(AttemptStatus::Pending))
        .filter(payment_attempt::Column::NextCheckAt.lte(now.timestamp_millis()))
        .order_by_asc(payment_attempt::Column::NextCheckAt)
        .limit(limit)
        .all(&deps.db)
        .await?;
    let outcomes: Vec<ServiceResult<bool>> = stream::iter(due)
        .map(|attempt| reconcile_one(deps, attempt, now, settlement_for))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = Reconciled {
        released_keys,
        ..Reconciled::default()
    };
    for outcome in outcomes {
        match outcome {
            Ok(true) => report.settled += 1,
            Ok(false) => report.unanswered += 1,
            Err(err) => {
                tracing::warn!(error = %err.describe(), "cannot reconcile a payment; trying again later");
                report.unanswered += 1;
            }
        }
    }
    Ok(report)
}

/// Asks about one attempt and settles it; `false` if it is still pending.
async fn reconcile_one(
    deps: &Deps,
    attempt: payment_attempt::Model,
    now: DateTime<Utc>,
    settlement_for: fn(AttemptKind) -> &'static dyn Settlement,
) -> ServiceResult<bool> {
    let kind: AttemptKind = attempt.kind;
    let calls = u32::try_from(attempt.gateway_calls).unwrap_or(u32::MAX);
    // Take the look: move the next one on first, so another instance (or this one after a
    // crash) does not ask at the same time, and a failure here waits for the next look.
    let next = now + next_check_delay(deps.reconcile_after, calls + 1);
    let taken = payment_attempt::Entity::update_many()
        .col_expr(
            payment_attempt::Column::NextCheckAt,
            Expr::value(next.timestamp_millis()),
        )
        .col_expr(
            payment_attempt::Column::GatewayCalls,
            Expr::value(attempt.gateway_calls + 1),
        )
        .col_expr(
            payment_attempt::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(payment_attempt::Column::Id.eq(attempt.id))
        .filter(payment_attempt::Column::Status.eq(AttemptStatus::Pending))
        .filter(payment_attempt::Column::NextCheckAt.eq(attempt.next_check_at.0.timestamp_millis()))
        .exec(&deps.db)
        .await?;
    if taken.rows_affected != 1 {
        return Ok(false);
    }
    if attempt.created_at.0 + RETRY_HORIZON <= now {
        tracing::error!(
            attempt = %attempt.id, %kind, since = %attempt.created_at.0,
            "a payment the card gateway never answered is past the retry horizon: \
             settle it by hand with the gateway's records"
        );
        return Ok(false);
    }
    let attempt = payment_attempt::Model {
        next_check_at: ChronoUnixTimestampMillis(next),
        gateway_calls: attempt.gateway_calls + 1,
        ..attempt
    };
    let transfer = transfer_of(deps, &attempt).await?;
    let Some(answer) = ask(deps, &attempt, &transfer).await? else {
        tracing::warn!(attempt = %attempt.id, %kind, calls = attempt.gateway_calls, "the card gateway still does not answer");
        return Ok(false);
    };
    let ending = settle(deps, &attempt, kind, &answer, settlement_for(kind), now).await;
    Ok(!matches!(ending, super::Ending::Pending))
}

/// What the attempt asks of the gateway, read back from the database.
async fn transfer_of(deps: &Deps, attempt: &payment_attempt::Model) -> ServiceResult<Transfer> {
    let Some(method_id) = attempt.payment_method_id else {
        return Ok(Transfer::Refunds(legs(attempt)?));
    };
    let method = entity::payment_method::Entity::find_by_id(method_id)
        .one(&deps.db)
        .await?
        .ok_or_else(|| ServiceError::internal(format!("payment method {method_id} is missing")))?;
    Ok(Transfer::Charge {
        token: payment_methods::token(deps, &method)?,
    })
}
