//! Collecting instalments: the job that charges due instalments (retrying on a schedule,
//! then marking them overdue) and the job that voids orders not captured in time. Jobs take
//! "now" as an argument and claim rows with `FOR UPDATE SKIP LOCKED` on MySQL (SQLite runs
//! one writer at a time), so several instances can run them at once. Each charge and void
//! is a payment attempt (see [`crate::service::attempts`]): every row of a round is recorded
//! in a short transaction of its own, then the gateway is asked for them side by side.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::{installment, order, payment_attempt};
use futures_util::{StreamExt, stream};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{LockBehavior, LockType, Query},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    super::{
        Deps, ServiceError, ServiceResult,
        attempts::{self, Answer, Ending, NewAttempt, Recorded, Settlement, Verdict},
        audit::Actor,
        payment_methods,
    },
    charges::{self, COLLECTING},
    merchant::{Voiding, intend_void},
};
use crate::{
    domain::{
        Currency, Money,
        attempt::{AttemptKind, AttemptStatus, Reservation},
        order::{InstallmentStatus, OrderStatus},
    },
    service::unit_of_work::UnitOfWork,
};

/// How many of a round's payments are at the gateway at once.
const CONCURRENCY: usize = 16;

/// What one round of charging due instalments did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Charged {
    /// Instalments charged successfully.
    pub paid: usize,
    /// Instalment charges that failed (to be retried, or now overdue).
    pub failed: usize,
    /// Charges the gateway did not answer; the reconciler settles them.
    pub pending: usize,
}

const UNPAID_DUE: [InstallmentStatus; 2] =
    [InstallmentStatus::Scheduled, InstallmentStatus::Failed];

/// Orders whose money is moving: the jobs leave them for a later round.
fn busy_orders() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(payment_attempt::Column::OrderId)
        .from(payment_attempt::Entity)
        .and_where(payment_attempt::Column::Status.eq(AttemptStatus::Pending))
        .and_where(payment_attempt::Column::OrderId.is_not_null())
        .to_owned()
}

/// Charges up to `limit` instalments due by `now` of captured orders.
pub async fn charge_due(deps: &Deps, now: DateTime<Utc>, limit: u64) -> ServiceResult<Charged> {
    let candidates: Vec<Uuid> = due(now)
        .select_only()
        .column(installment::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&deps.db)
        .await?;
    let mut recorded = Vec::new();
    for id in candidates {
        if let Some(charge) = intend_charge(deps, id, now).await? {
            recorded.push(charge);
        }
    }
    let endings = execute_all(deps, recorded, &Collecting, now).await;
    let mut report = Charged::default();
    for ending in endings {
        match ending? {
            Ending::Settled(Verdict::Done(Value::Bool(true))) => report.paid += 1,
            Ending::Settled(_) => report.failed += 1,
            Ending::Pending | Ending::SettledElsewhere => report.pending += 1,
        }
    }
    Ok(report)
}

/// Phases 2 and 3 of recorded attempts, side by side.
async fn execute_all(
    deps: &Deps,
    recorded: Vec<Recorded>,
    settlement: &dyn Settlement,
    now: DateTime<Utc>,
) -> Vec<ServiceResult<Ending>> {
    stream::iter(recorded)
        .map(|recorded| async move { attempts::execute(deps, &recorded, settlement, now).await })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

/// Phase 1 of charging instalment `id`, if it is still due and nobody else has it.
async fn intend_charge(
    deps: &Deps,
    id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<Option<Recorded>> {
    let work = UnitOfWork::begin(deps).await?;
    let Some(row) = due(now)
        .filter(installment::Column::Id.eq(id))
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .one(work.txn())
        .await?
    else {
        return Ok(None); // another instance has it, or it changed
    };
    let order = charges::lock_order(work.txn(), row.order_id).await?;
    let method = charges::card(work.txn(), order.payment_method_id).await?;
    let currency: Currency = order.currency;
    let new = NewAttempt {
        order_id: Some(order.id),
        installment_id: Some(row.id),
        charge: Some((method.id, payment_methods::token(deps, &method)?)),
        ..NewAttempt::new(
            AttemptKind::InstallmentCharge,
            Reservation::Order(order.id),
            Money::new(row.amount_minor, currency),
            Value::Null,
        )
    };
    let recorded = attempts::record(deps, work.txn(), new, now).await?;
    work.commit().await?;
    Ok(recorded)
}

/// Phase 3 of an instalment charge by the collection job: the verdict is whether it was
/// paid.
pub(crate) struct Collecting;

#[async_trait]
impl Settlement for Collecting {
    async fn settle(
        &self,
        _deps: &Deps,
        work: &mut UnitOfWork<'_>,
        attempt: &payment_attempt::Model,
        answer: &Answer,
        now: DateTime<Utc>,
    ) -> ServiceResult<Verdict> {
        let (Some(installment_id), Some(method_id)) =
            (attempt.installment_id, attempt.payment_method_id)
        else {
            return Err(ServiceError::internal(format!(
                "instalment charge {} names no instalment or card",
                attempt.id
            )));
        };
        let row = charges::lock_installment(work.txn(), installment_id).await?;
        let order = charges::lock_order(work.txn(), row.order_id).await?;
        let (action, paid) = match (answer.receipts.first(), answer.refusal) {
            (Some(reference), None) => {
                charges::record_paid(work, &order, &row, reference, (method_id, false), now)
                    .await?;
                ("installment.charged", true)
            }
            (_, refusal) => {
                let error = refusal.unwrap_or(crate::payments::GatewayError::ProcessingError);
                charges::record_failed(work, &order, &row, error, method_id, now).await?;
                ("installment.charge_failed", false)
            }
        };
        let details = json!({
            "orderId": order.id,
            "amountMinor": row.amount_minor,
            "attempt": row.attempt_count + 1,
        });
        work.audit(
            &Actor::system(),
            action,
            Some(("installment", row.id)),
            details,
            now,
        );
        charges::update_order_status(work, &order, now).await?;
        Ok(Verdict::Done(Value::Bool(paid)))
    }
}

/// Unpaid instalments of captured orders due by `now`, not waiting for a retry, whose
/// order's money is not moving.
fn due(now: DateTime<Utc>) -> sea_orm::Select<installment::Entity> {
    use installment::Column;
    installment::Entity::find()
        .filter(Column::Status.is_in(UNPAID_DUE))
        .filter(Column::DueDate.lte(now.date_naive()))
        .filter(
            Condition::any()
                .add(Column::NextAttemptAt.is_null())
                .add(Column::NextAttemptAt.lte(now.timestamp_millis())),
        )
        .filter(
            Column::OrderId.in_subquery(
                Query::select()
                    .column(order::Column::Id)
                    .from(order::Entity)
                    .and_where(order::Column::Status.is_in(COLLECTING))
                    .to_owned(),
            ),
        )
        .filter(Column::OrderId.not_in_subquery(busy_orders()))
        .order_by_asc(Column::DueDate)
        .order_by_asc(Column::Id)
}

/// What one round of voiding lapsed orders did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Voided {
    /// Orders voided.
    pub voided: usize,
    /// Voids whose card refund the gateway did not answer, or refused; settled or tried
    /// again later.
    pub pending: usize,
}

/// Voids up to `limit` authorized orders whose capture window closed by `now`.
pub async fn void_lapsed(deps: &Deps, now: DateTime<Utc>, limit: u64) -> ServiceResult<Voided> {
    let lapsed = || {
        order::Entity::find()
            .filter(order::Column::Status.eq(OrderStatus::Authorized))
            .filter(order::Column::CaptureDeadline.lte(now.timestamp_millis()))
            .filter(order::Column::Id.not_in_subquery(busy_orders()))
    };
    let candidates: Vec<Uuid> = lapsed()
        .select_only()
        .column(order::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&deps.db)
        .await?;
    let mut report = Voided::default();
    let mut recorded = Vec::new();
    for id in candidates {
        let work = UnitOfWork::begin(deps).await?;
        let Some(order) = lapsed()
            .filter(order::Column::Id.eq(id))
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .one(work.txn())
            .await?
        else {
            continue;
        };
        let reason = Some("capture window closed".to_owned());
        match intend_void(deps, work, &order, &Actor::system(), reason, None, now).await {
            Ok(attempts::Intent::Done(_)) => report.voided += 1,
            Ok(attempts::Intent::Recorded(void)) => recorded.push(*void),
            // Another money operation holds the order: a later round voids it.
            Err(ServiceError::Rejected(_)) => report.pending += 1,
            Err(other) => return Err(other),
        }
    }
    for ending in execute_all(deps, recorded, &Voiding, now).await {
        match ending? {
            Ending::Settled(Verdict::Done(_)) => report.voided += 1,
            _ => report.pending += 1,
        }
    }
    Ok(report)
}
