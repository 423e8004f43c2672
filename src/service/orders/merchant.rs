//! What a merchant does to its orders: capture, void (cancel before capture) and refund.
//!
//! Voids and refunds send money back to the card, so they are payment attempts in atomic
//! phases (see [`crate::service::attempts`]): phase 1 locks the order, checks the amount
//! against what can still be refunded and records the attempt with the charges it draws
//! from, holding the order (one money operation at a time per order, so parallel refunds
//! can never exceed what was captured); phase 2 refunds the card; phase 3 reduces the
//! unpaid instalments and writes the refund, the order's new state, the audit entry and
//! the outbox event. A refund that goes only to unpaid instalments moves no money and is
//! written at once. Capture moves no money: one transaction, refused while the order's
//! money is moving.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::{installment, order, payment, payment_attempt, refund};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::super::{
    Deps, ServiceError, ServiceResult,
    attempts::{self, Answer, Intent, NewAttempt, RefundLeg, Settlement, Verdict},
    audit::Actor,
    idempotency::{self, Request},
    outbox::{self, Event},
};
use crate::service::OrInternal;
use crate::{
    domain::event::EventType,
    domain::{
        Currency, Money,
        attempt::{AttemptKind, Reservation},
        order::{InstallmentStatus, OrderStatus},
        refund::{InstallmentBalance, RefundError, RefundPlan, allocate},
        violation::{Violation, ViolationCode},
    },
    payments::GatewayError,
    service::unit_of_work::UnitOfWork,
};

/// The order an operation changed (and the refund it made, if any).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    /// The order.
    pub order_id: Uuid,
    /// The refund made, for refunds and voids.
    pub refund_id: Option<Uuid>,
}

/// A refund a merchant asks for.
#[derive(Debug, Clone)]
pub struct RefundInput {
    /// How much, in the order's currency.
    pub amount_minor: i64,
    /// The currency the merchant meant.
    pub currency: Currency,
    /// Why, for the shopper and the merchant's records.
    pub reason: Option<String>,
    /// The merchant's own reference of the refund.
    pub merchant_refund_reference: Option<String>,
}

/// What a refund or void settles with, decided in phase 1 and stored with its attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Giveback {
    /// The refund row to write.
    refund_id: Uuid,
    /// How much of the order it refunds, in minor units.
    amount_minor: i64,
    /// Why.
    reason: Option<String>,
    /// The merchant's reference of a refund.
    merchant_refund_reference: Option<String>,
    /// Who asked, for the audit log.
    actor: Actor,
    /// A void by the capture-window job rather than the merchant.
    automatic: bool,
}

fn refused(field: &str, code: ViolationCode, message: &str) -> ServiceError {
    ServiceError::refused(field, code, message)
}

fn request<'a>(
    merchant_id: Uuid,
    operation: &'static str,
    key: &'a str,
    parts: &[&str],
) -> Request<'a> {
    Request {
        principal: format!("merchant:{merchant_id}"),
        operation,
        key,
        input_hash: idempotency::digest(parts),
    }
}

async fn lock_order(
    txn: &DatabaseTransaction,
    merchant_id: Uuid,
    id: Uuid,
) -> ServiceResult<(order::Model, OrderStatus)> {
    let row = order::Entity::find_by_id(id)
        .filter(order::Column::MerchantId.eq(merchant_id))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let status = row.status;
    Ok((row, status))
}

async fn installments(
    txn: &DatabaseTransaction,
    order_id: Uuid,
) -> ServiceResult<Vec<installment::Model>> {
    Ok(installment::Entity::find()
        .filter(installment::Column::OrderId.eq(order_id))
        .order_by_asc(installment::Column::Sequence)
        .all(txn)
        .await?)
}

/// Captures an authorized order in full.
pub async fn capture(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
    order_id: Uuid,
    key: &str,
) -> ServiceResult<Changed> {
    let id = order_id.to_string();
    let request = request(merchant_id, "captureOrder", key, &[&id]);
    idempotency::run(deps, &request, |key_id| async move {
        let now = deps.clock.now();
        let mut work = UnitOfWork::begin(deps).await?;
        let (order, status) = lock_order(work.txn(), merchant_id, order_id).await?;
        if !status.can_capture() {
            return Err(refused(
                "id",
                ViolationCode::OrderNotAuthorized,
                "only an authorized order can be captured",
            ));
        }
        if order.capture_deadline.0 <= now {
            return Err(refused(
                "id",
                ViolationCode::CaptureWindowClosed,
                "the capture window has closed",
            ));
        }
        if attempts::holds(work.txn(), Reservation::Order(order_id)).await? {
            return Err(attempts::in_progress("id"));
        }
        let all_paid = installments(work.txn(), order_id)
            .await?
            .iter()
            .map(|i| i.status)
            .collect::<Vec<_>>()
            .iter()
            .all(|s| !s.is_unpaid());
        let next = if all_paid {
            OrderStatus::Completed
        } else {
            OrderStatus::Captured
        };
        order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(next))
            .col_expr(order::Column::CapturedMinor, Expr::value(order.total_minor))
            .col_expr(
                order::Column::CapturedAt,
                Expr::value(now.timestamp_millis()),
            )
            .col_expr(
                order::Column::UpdatedAt,
                Expr::value(now.timestamp_millis()),
            )
            .col_expr(
                order::Column::CompletedAt,
                Expr::value(all_paid.then_some(now.timestamp_millis())),
            )
            .filter(order::Column::Id.eq(order_id))
            .exec(work.txn())
            .await?;
        let changed = Changed {
            order_id,
            refund_id: None,
        };
        let event = Event::order(
            EventType::OrderCaptured,
            &order,
            next,
            json!({ "amount": outbox::money(order.total_minor, order.currency) }),
        );
        work.record_change(actor, event, now);
        idempotency::finish(work.txn(), key_id, &Ok::<_, Vec<Violation>>(&changed)).await?;
        work.commit().await?;
        Ok(changed)
    })
    .await
}

/// Voids an authorized order: what the shopper paid goes back to the card, the rest of the
/// schedule is cancelled.
pub async fn void(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
    order_id: Uuid,
    reason: Option<&str>,
    key: &str,
) -> ServiceResult<Changed> {
    let reason = clean(reason, "reason")?;
    let id = order_id.to_string();
    let request = request(
        merchant_id,
        "cancelOrder",
        key,
        &[&id, reason.as_deref().unwrap_or("")],
    );
    attempts::run(deps, &request, &Voiding, |key_id| {
        let reason = reason.clone();
        async move {
            let work = UnitOfWork::begin(deps).await?;
            let (order, status) = lock_order(work.txn(), merchant_id, order_id).await?;
            if !status.can_void() {
                return Err(refused(
                    "id",
                    ViolationCode::OrderNotAuthorized,
                    "only an authorized order can be cancelled; refund a captured one",
                ));
            }
            let now = deps.clock.now();
            intend_void(deps, work, &order, actor, reason, Some(key_id), now).await
        }
    })
    .await
}

/// Phase 1 of a void of a locked, authorized order as of `now` (for the merchant, or the
/// capture-window job when `key_id` is `None`), committing `work`.
pub(crate) async fn intend_void(
    deps: &Deps,
    work: UnitOfWork<'_>,
    order: &order::Model,
    actor: &Actor,
    reason: Option<String>,
    key_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> ServiceResult<Intent<Changed>> {
    let remaining = order.total_minor - order.refunded_minor;
    let plan = allocation(work.txn(), order, remaining, remaining).await?;
    let giveback = Giveback {
        refund_id: Uuid::now_v7(),
        amount_minor: remaining,
        reason,
        merchant_refund_reference: None,
        actor: actor.clone(),
        automatic: key_id.is_none(),
    };
    let kind = AttemptKind::Void;
    intend_giveback(deps, work, order, &plan, giveback, kind, key_id, now).await
}

/// Refunds part or all of a captured order.
pub async fn refund(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
    order_id: Uuid,
    input: RefundInput,
    key: &str,
) -> ServiceResult<Changed> {
    let reason = clean(input.reason.as_deref(), "reason")?;
    let reference = clean(
        input.merchant_refund_reference.as_deref(),
        "merchantRefundReference",
    )?;
    let id = order_id.to_string();
    let amount = input.amount_minor.to_string();
    let request = request(
        merchant_id,
        "refundOrder",
        key,
        &[
            &id,
            &amount,
            input.currency.code(),
            reason.as_deref().unwrap_or(""),
            reference.as_deref().unwrap_or(""),
        ],
    );
    let input = &input;
    attempts::run(deps, &request, &Refunding, |key_id| {
        let (reason, reference) = (reason.clone(), reference.clone());
        async move {
            let now = deps.clock.now();
            let work = UnitOfWork::begin(deps).await?;
            let (order, status) = lock_order(work.txn(), merchant_id, order_id).await?;
            if !status.can_refund() {
                return Err(refused(
                    "id",
                    ViolationCode::OrderNotRefundable,
                    "only a captured order that is not fully refunded can be refunded",
                ));
            }
            let currency: Currency = order.currency;
            if input.currency != currency {
                return Err(refused(
                    "amount",
                    ViolationCode::CurrencyMismatch,
                    "must be in the order's currency",
                ));
            }
            let refundable = order.captured_minor - order.refunded_minor;
            let plan = allocation(work.txn(), &order, input.amount_minor, refundable)
                .await
                .map_err(|err| match err {
                    AllocationError::Refused(RefundError::NotPositive) => {
                        refused("amount", ViolationCode::OutOfRange, "must be positive")
                    }
                    AllocationError::Refused(RefundError::ExceedsRefundable { refundable }) => {
                        ServiceError::refused(
                            "amount",
                            ViolationCode::RefundExceedsRefundable,
                            &format!(
                                "at most {} can still be refunded",
                                Money::new(refundable, currency).to_decimal()
                            ),
                        )
                    }
                    AllocationError::Service(err) => err,
                })?;
            let giveback = Giveback {
                refund_id: Uuid::now_v7(),
                amount_minor: input.amount_minor,
                reason,
                merchant_refund_reference: reference,
                actor: actor.clone(),
                automatic: false,
            };
            let kind = AttemptKind::Refund;
            intend_giveback(deps, work, &order, &plan, giveback, kind, Some(key_id), now).await
        }
    })
    .await
}

/// Why a refund's allocation failed: the caller's amount, or the server.
enum AllocationError {
    Refused(RefundError),
    Service(ServiceError),
}

impl From<AllocationError> for ServiceError {
    fn from(err: AllocationError) -> Self {
        match err {
            AllocationError::Refused(err) => ServiceError::internal(format!("allocation: {err}")),
            AllocationError::Service(err) => err,
        }
    }
}

impl From<sea_orm::DbErr> for AllocationError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Service(err.into())
    }
}

/// How a refund of `amount` of the order's `refundable` is shared between its unpaid
/// instalments and the card.
async fn allocation(
    txn: &DatabaseTransaction,
    order: &order::Model,
    amount: i64,
    refundable: i64,
) -> Result<RefundPlan, AllocationError> {
    let schedule = installments(txn, order.id)
        .await
        .map_err(AllocationError::Service)?;
    let balances = balances(&schedule).map_err(AllocationError::Service)?;
    allocate(amount, refundable, &balances).map_err(AllocationError::Refused)
}

/// The rest of phase 1 of a refund or void: what moves no money is written at once;
/// otherwise the attempt is recorded, holding the order. Commits `work`.
#[allow(clippy::too_many_arguments)]
async fn intend_giveback(
    deps: &Deps,
    mut work: UnitOfWork<'_>,
    order: &order::Model,
    plan: &RefundPlan,
    giveback: Giveback,
    kind: AttemptKind,
    key_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> ServiceResult<Intent<Changed>> {
    if plan.to_shopper_minor == 0 {
        // No money moves, but the instalments it reduces may be being charged.
        if attempts::holds(work.txn(), Reservation::Order(order.id)).await? {
            return Err(attempts::in_progress("id"));
        }
        let changed = apply(&mut work, order, kind, &giveback, None, now).await?;
        if let Some(key_id) = key_id {
            idempotency::finish(work.txn(), key_id, &Ok::<_, Vec<Violation>>(&changed)).await?;
        }
        work.commit().await?;
        return Ok(Intent::Done(changed));
    }
    let currency: Currency = order.currency;
    let legs = card_legs(work.txn(), order, plan.to_shopper_minor).await?;
    let details = serde_json::to_value(&giveback).or_internal(|| "refund")?;
    let new = NewAttempt {
        idempotency_key_id: key_id,
        order_id: Some(order.id),
        legs,
        ..NewAttempt::new(
            kind,
            Reservation::Order(order.id),
            Money::new(plan.to_shopper_minor, currency),
            details,
        )
    };
    let recorded = attempts::record(deps, work.txn(), new, now)
        .await?
        .ok_or_else(|| attempts::in_progress("id"))?;
    work.commit().await?;
    Ok(Intent::Recorded(Box::new(recorded)))
}

/// Phase 3 of a merchant's refund.
pub(crate) struct Refunding;

/// Phase 3 of a void, the merchant's or the capture-window job's.
pub(crate) struct Voiding;

#[async_trait]
impl Settlement for Refunding {
    async fn settle(
        &self,
        _deps: &Deps,
        work: &mut UnitOfWork<'_>,
        attempt: &payment_attempt::Model,
        answer: &Answer,
        now: DateTime<Utc>,
    ) -> ServiceResult<Verdict> {
        settle_giveback(work, attempt, answer, AttemptKind::Refund, now).await
    }
}

#[async_trait]
impl Settlement for Voiding {
    async fn settle(
        &self,
        _deps: &Deps,
        work: &mut UnitOfWork<'_>,
        attempt: &payment_attempt::Model,
        answer: &Answer,
        now: DateTime<Utc>,
    ) -> ServiceResult<Verdict> {
        settle_giveback(work, attempt, answer, AttemptKind::Void, now).await
    }
}

async fn settle_giveback(
    work: &mut UnitOfWork<'_>,
    attempt: &payment_attempt::Model,
    answer: &Answer,
    kind: AttemptKind,
    now: DateTime<Utc>,
) -> ServiceResult<Verdict> {
    let giveback: Giveback = attempts::details(attempt)?;
    let order_id = attempt
        .order_id
        .ok_or_else(|| ServiceError::internal(format!("refund {} names no order", attempt.id)))?;
    let order = order::Entity::find_by_id(order_id)
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or(ServiceError::NotFound)?;
    match answer.refusal {
        None => {
            let references = answer.receipts.join(",");
            let changed = apply(work, &order, kind, &giveback, Some(references), now).await?;
            serde_json::to_value(changed)
                .map(Verdict::Done)
                .or_internal(|| "refund")
        }
        Some(error) if answer.receipts.is_empty() => {
            let violations = vec![refund_failed(error)];
            Ok(if error.is_transient() {
                Verdict::Retry(violations)
            } else {
                Verdict::Refused(violations)
            })
        }
        // Money went back for some charges and was refused for another: nothing this
        // settlement could write would match the card. It stays pending, and logged.
        Some(error) => Err(ServiceError::internal(format!(
            "refund {}: the gateway refunded {} of its charges, then refused ({error}); \
             settle it by hand with the gateway's records",
            attempt.id,
            answer.receipts.len()
        ))),
    }
}

fn refund_failed(error: GatewayError) -> Violation {
    Violation::new(
        &crate::domain::violation::Path::input().at("amount"),
        ViolationCode::RefundFailed,
        format!("the card refund failed: {error}"),
    )
}

/// Writes a refund or void whose card part (if any) went through under `references`.
async fn apply(
    work: &mut UnitOfWork<'_>,
    order: &order::Model,
    kind: AttemptKind,
    giveback: &Giveback,
    references: Option<String>,
    now: DateTime<Utc>,
) -> ServiceResult<Changed> {
    let refundable = match kind {
        AttemptKind::Void => order.total_minor - order.refunded_minor,
        _ => order.captured_minor - order.refunded_minor,
    };
    let schedule = installments(work.txn(), order.id).await?;
    let plan = allocate(giveback.amount_minor, refundable, &balances(&schedule)?)
        .or_internal(|| "refund allocation")?;
    apply_reductions(work.txn(), &schedule, &plan.reductions, now).await?;
    write_refund(
        work.txn(),
        order,
        giveback,
        plan.to_shopper_minor,
        references,
        now,
    )
    .await?;
    let changed = Changed {
        order_id: order.id,
        refund_id: Some(giveback.refund_id),
    };
    let refunded = order.refunded_minor + giveback.amount_minor;
    let event = if kind == AttemptKind::Void {
        order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(OrderStatus::Cancelled))
            .col_expr(order::Column::RefundedMinor, Expr::value(refunded))
            .col_expr(
                order::Column::CancelledAt,
                Expr::value(now.timestamp_millis()),
            )
            .col_expr(
                order::Column::UpdatedAt,
                Expr::value(now.timestamp_millis()),
            )
            .filter(order::Column::Id.eq(order.id))
            .exec(work.txn())
            .await?;
        Event::order(
            EventType::OrderCancelled,
            order,
            OrderStatus::Cancelled,
            json!({
                "refundId": giveback.refund_id,
                "refundedToShopper": outbox::money(plan.to_shopper_minor, order.currency),
                "reason": giveback.reason,
                "automatic": giveback.automatic,
            }),
        )
    } else {
        let statuses = installments(work.txn(), order.id)
            .await?
            .iter()
            .map(|i| i.status)
            .collect::<Vec<_>>();
        let next = if refunded == order.captured_minor {
            OrderStatus::Refunded
        } else if statuses.iter().all(|s| !s.is_unpaid()) {
            OrderStatus::Completed
        } else if statuses.contains(&InstallmentStatus::Overdue) {
            OrderStatus::Overdue
        } else {
            OrderStatus::Captured
        };
        let completed_at = (next == OrderStatus::Completed).then_some(
            order
                .completed_at
                .map_or(now.timestamp_millis(), |at| at.0.timestamp_millis()),
        );
        order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(next))
            .col_expr(order::Column::RefundedMinor, Expr::value(refunded))
            .col_expr(order::Column::CompletedAt, Expr::value(completed_at))
            .col_expr(
                order::Column::UpdatedAt,
                Expr::value(now.timestamp_millis()),
            )
            .filter(order::Column::Id.eq(order.id))
            .exec(work.txn())
            .await?;
        Event::order(
            EventType::OrderRefunded,
            order,
            next,
            json!({
                "refundId": giveback.refund_id,
                "amount": outbox::money(giveback.amount_minor, order.currency),
                "refundedToShopper": outbox::money(plan.to_shopper_minor, order.currency),
                "refundedTotal": outbox::money(refunded, order.currency),
            }),
        )
    };
    work.record_change(&giveback.actor, event, now);
    Ok(changed)
}

/// A trimmed optional text of at most 500 printable characters.
fn clean(value: Option<&str>, field: &str) -> ServiceResult<Option<String>> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    if value.is_some_and(|v| v.chars().count() > 500 || v.chars().any(char::is_control)) {
        return Err(refused(
            field,
            ViolationCode::TooLong,
            "must be at most 500 printable characters",
        ));
    }
    Ok(value.map(str::to_owned))
}

fn balances(schedule: &[installment::Model]) -> ServiceResult<Vec<InstallmentBalance>> {
    schedule
        .iter()
        .map(|i| {
            Ok(InstallmentBalance {
                sequence: u32::try_from(i.sequence).unwrap_or(0),
                amount_minor: i.amount_minor,
                status: i.status,
            })
        })
        .collect()
}

async fn apply_reductions(
    txn: &impl ConnectionTrait,
    schedule: &[installment::Model],
    reductions: &[crate::domain::refund::Reduction],
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    for reduction in reductions {
        let Some(row) = schedule
            .iter()
            .find(|i| i64::from(i.sequence) == i64::from(reduction.sequence))
        else {
            continue;
        };
        let mut update = installment::Entity::update_many()
            .col_expr(
                installment::Column::AmountMinor,
                Expr::value(reduction.new_amount_minor),
            )
            .col_expr(
                installment::Column::UpdatedAt,
                Expr::value(now.timestamp_millis()),
            );
        if reduction.cancelled {
            update = update
                .col_expr(
                    installment::Column::Status,
                    Expr::value(InstallmentStatus::Cancelled),
                )
                .col_expr(
                    installment::Column::NextAttemptAt,
                    Expr::value(Option::<i64>::None),
                );
        }
        update
            .filter(installment::Column::Id.eq(row.id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// The refunds that send `amount` back to the card, taken from the order's charges newest
/// first, past what earlier refunds took.
async fn card_legs(
    txn: &DatabaseTransaction,
    order: &order::Model,
    amount: i64,
) -> ServiceResult<Vec<RefundLeg>> {
    let charges = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order.id))
        .filter(payment::Column::Status.eq("SUCCEEDED"))
        .order_by_desc(payment::Column::Id)
        .all(txn)
        .await?;
    let earlier: i64 = refund::Entity::find()
        .filter(refund::Column::OrderId.eq(order.id))
        .all(txn)
        .await?
        .iter()
        .map(|r| r.to_shopper_minor)
        .sum();
    let mut already = earlier;
    let mut remaining = amount;
    let mut legs = Vec::new();
    for charge in charges {
        let left = charge.amount_minor - already.min(charge.amount_minor);
        already -= charge.amount_minor - left;
        if left == 0 || remaining == 0 {
            continue;
        }
        let Some(reference) = charge.gateway_reference else {
            continue;
        };
        let part = left.min(remaining);
        legs.push(RefundLeg {
            charge_reference: reference,
            amount_minor: part,
        });
        remaining -= part;
    }
    if remaining > 0 {
        return Err(ServiceError::internal(format!(
            "order {}: {remaining} left to refund beyond its charges",
            order.id
        )));
    }
    Ok(legs)
}

async fn write_refund(
    txn: &impl ConnectionTrait,
    order: &order::Model,
    giveback: &Giveback,
    to_shopper: i64,
    gateway_reference: Option<String>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let row = refund::Model {
        id: giveback.refund_id,
        order_id: order.id,
        amount_minor: giveback.amount_minor,
        to_shopper_minor: to_shopper,
        reason: giveback.reason.clone(),
        merchant_refund_reference: giveback.merchant_refund_reference.clone(),
        gateway_reference,
        created_at: ChronoUnixTimestampMillis(now),
    };
    refund::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await?;
    Ok(())
}
