//! What a merchant does to its orders: capture, void (cancel before capture) and refund.
//! Each is one transaction that locks the order row, so parallel operations on one order
//! run one after the other and parallel refunds can never exceed what was captured; each
//! writes its audit entry and outbox event with the change, under an idempotency key.

use chrono::{DateTime, Utc};
use entity::{installment, order, payment, refund};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::super::{
    ServiceError, ServiceResult, Services,
    audit::{self, Actor},
    idempotency::{self, Request},
    outbox::{self, Event},
    parse_stored,
};
use crate::{
    db::begin_write,
    domain::{
        Currency, Money,
        order::{InstallmentStatus, OrderStatus},
        refund::{InstallmentBalance, RefundError, allocate},
        violation::{Violation, ViolationCode},
    },
    events::EventType,
    payments::RefundRequest,
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
    let status = parse_stored(&row.status, "order status")?;
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

/// Records the operation's audit entry, outbox event and idempotent outcome, and commits.
async fn finish(
    services: &Services,
    txn: DatabaseTransaction,
    actor: &Actor,
    event: Event,
    changed: &Changed,
    key_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    record_change(&txn, actor, event, now).await?;
    idempotency::finish(&txn, key_id, &Ok::<_, Vec<Violation>>(changed)).await?;
    outbox::commit(services, txn).await?;
    Ok(())
}

/// Writes the audit entry and the outbox event of a change; the audit entry keeps the
/// event's data.
pub(crate) async fn record_change(
    txn: &DatabaseTransaction,
    actor: &Actor,
    event: Event,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    audit::record(
        txn,
        actor,
        event.event_type.as_str(),
        Some((event.event_type.aggregate_type(), event.aggregate_id)),
        event.data.clone(),
        now,
    )
    .await?;
    outbox::record(txn, event, now).await?;
    Ok(())
}

/// The data of an order's cancellation: the refund that undid it.
pub(crate) fn cancellation(order: &order::Model, voided: &Voided, automatic: bool) -> Event {
    Event::order(
        EventType::OrderCancelled,
        order,
        OrderStatus::Cancelled,
        json!({
            "refundId": voided.changed.refund_id,
            "refundedToShopper": outbox::money(voided.to_shopper_minor, &order.currency),
            "reason": voided.reason,
            "automatic": automatic,
        }),
    )
}

/// Captures an authorized order in full.
pub async fn capture(
    services: &Services,
    actor: &Actor,
    merchant_id: Uuid,
    order_id: Uuid,
    key: &str,
) -> ServiceResult<Changed> {
    let id = order_id.to_string();
    let request = request(merchant_id, "captureOrder", key, &[&id]);
    idempotency::run(services, &request, |key_id| async move {
        let now = services.clock.now();
        let txn = begin_write(&services.db).await?;
        let (order, status) = lock_order(&txn, merchant_id, order_id).await?;
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
        let all_paid = installments(&txn, order_id)
            .await?
            .iter()
            .map(|i| parse_stored::<InstallmentStatus>(&i.status, "instalment status"))
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .all(|s| !s.is_unpaid());
        let next = if all_paid {
            OrderStatus::Completed
        } else {
            OrderStatus::Captured
        };
        order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(next.as_str()))
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
            .exec(&txn)
            .await?;
        let changed = Changed {
            order_id,
            refund_id: None,
        };
        let event = Event::order(
            EventType::OrderCaptured,
            &order,
            next,
            json!({ "amount": outbox::money(order.total_minor, &order.currency) }),
        );
        finish(services, txn, actor, event, &changed, key_id, now).await?;
        Ok(changed)
    })
    .await
}

/// Voids an authorized order: what the shopper paid goes back to the card, the rest of the
/// schedule is cancelled.
pub async fn void(
    services: &Services,
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
    idempotency::run(services, &request, |key_id| async move {
        let now = services.clock.now();
        let txn = begin_write(&services.db).await?;
        let (order, status) = lock_order(&txn, merchant_id, order_id).await?;
        if !status.can_void() {
            return Err(refused(
                "id",
                ViolationCode::OrderNotAuthorized,
                "only an authorized order can be cancelled; refund a captured one",
            ));
        }
        let voided = void_locked(services, &txn, &order, reason, now).await?;
        let event = cancellation(&order, &voided, false);
        finish(services, txn, actor, event, &voided.changed, key_id, now).await?;
        Ok(voided.changed)
    })
    .await
}

/// A voided order: the refund that undid it and what went back to the card.
pub(crate) struct Voided {
    /// The order and its refund.
    pub changed: Changed,
    /// How much went back to the shopper's card.
    pub to_shopper_minor: i64,
    /// Why it was voided.
    pub reason: Option<String>,
}

/// Voids a locked, authorized order (for the merchant, or the capture-window job).
pub(crate) async fn void_locked(
    services: &Services,
    txn: &DatabaseTransaction,
    order: &order::Model,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> ServiceResult<Voided> {
    let currency: Currency = parse_stored(&order.currency, "currency")?;
    let schedule = installments(txn, order.id).await?;
    let balances = balances(&schedule)?;
    let plan = allocate(order.total_minor, order.total_minor, &balances)
        .map_err(|err| ServiceError::internal(format!("void allocation: {err}")))?;
    let refund_id = Uuid::now_v7();
    let gateway_reference = refund_to_card(
        services,
        txn,
        order,
        currency,
        plan.to_shopper_minor,
        refund_id,
    )
    .await?;
    apply_reductions(txn, &schedule, &plan.reductions, now).await?;
    write_refund(
        txn,
        refund_id,
        order,
        order.total_minor,
        plan.to_shopper_minor,
        reason.clone(),
        None,
        gateway_reference,
        now,
    )
    .await?;
    order::Entity::update_many()
        .col_expr(
            order::Column::Status,
            Expr::value(OrderStatus::Cancelled.as_str()),
        )
        .col_expr(order::Column::RefundedMinor, Expr::value(order.total_minor))
        .col_expr(
            order::Column::CancelledAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(
            order::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(order::Column::Id.eq(order.id))
        .exec(txn)
        .await?;
    Ok(Voided {
        changed: Changed {
            order_id: order.id,
            refund_id: Some(refund_id),
        },
        to_shopper_minor: plan.to_shopper_minor,
        reason,
    })
}

/// Refunds part or all of a captured order.
pub async fn refund(
    services: &Services,
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
    idempotency::run(services, &request, |key_id| async move {
        let now = services.clock.now();
        let txn = begin_write(&services.db).await?;
        let (order, status) = lock_order(&txn, merchant_id, order_id).await?;
        if !status.can_refund() {
            return Err(refused(
                "id",
                ViolationCode::OrderNotRefundable,
                "only a captured order that is not fully refunded can be refunded",
            ));
        }
        let currency: Currency = parse_stored(&order.currency, "currency")?;
        if input.currency != currency {
            return Err(refused(
                "amount",
                ViolationCode::CurrencyMismatch,
                "must be in the order's currency",
            ));
        }
        let schedule = installments(&txn, order_id).await?;
        let refundable = order.captured_minor - order.refunded_minor;
        let plan = allocate(input.amount_minor, refundable, &balances(&schedule)?).map_err(
            |err| match err {
                RefundError::NotPositive => {
                    refused("amount", ViolationCode::OutOfRange, "must be positive")
                }
                RefundError::ExceedsRefundable { refundable } => ServiceError::refused(
                    "amount",
                    ViolationCode::RefundExceedsRefundable,
                    &format!(
                        "at most {} can still be refunded",
                        Money::new(refundable, currency).to_decimal()
                    ),
                ),
            },
        )?;
        let refund_id = Uuid::now_v7();
        let gateway_reference = refund_to_card(
            services,
            &txn,
            &order,
            currency,
            plan.to_shopper_minor,
            refund_id,
        )
        .await?;
        apply_reductions(&txn, &schedule, &plan.reductions, now).await?;
        write_refund(
            &txn,
            refund_id,
            &order,
            input.amount_minor,
            plan.to_shopper_minor,
            reason,
            reference,
            gateway_reference,
            now,
        )
        .await?;
        let refunded = order.refunded_minor + input.amount_minor;
        let after = installments(&txn, order_id).await?;
        let statuses = after
            .iter()
            .map(|i| parse_stored::<InstallmentStatus>(&i.status, "instalment status"))
            .collect::<Result<Vec<_>, _>>()?;
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
            .col_expr(order::Column::Status, Expr::value(next.as_str()))
            .col_expr(order::Column::RefundedMinor, Expr::value(refunded))
            .col_expr(order::Column::CompletedAt, Expr::value(completed_at))
            .col_expr(
                order::Column::UpdatedAt,
                Expr::value(now.timestamp_millis()),
            )
            .filter(order::Column::Id.eq(order_id))
            .exec(&txn)
            .await?;
        let changed = Changed {
            order_id,
            refund_id: Some(refund_id),
        };
        let event = Event::order(
            EventType::OrderRefunded,
            &order,
            next,
            json!({
                "refundId": refund_id,
                "amount": outbox::money(input.amount_minor, &order.currency),
                "refundedToShopper": outbox::money(plan.to_shopper_minor, &order.currency),
                "refundedTotal": outbox::money(refunded, &order.currency),
            }),
        );
        finish(services, txn, actor, event, &changed, key_id, now).await?;
        Ok(changed)
    })
    .await
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
                status: parse_stored(&i.status, "instalment status")?,
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
                    Expr::value(InstallmentStatus::Cancelled.as_str()),
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

/// Sends `amount` back to the card, taken from the order's charges newest first. A failure
/// refuses the whole operation (the transaction rolls back).
async fn refund_to_card(
    services: &Services,
    txn: &DatabaseTransaction,
    order: &order::Model,
    currency: Currency,
    amount: i64,
    refund_id: Uuid,
) -> ServiceResult<Option<String>> {
    if amount == 0 {
        return Ok(None);
    }
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
    // Refunds take from the newest charges first: skip what earlier refunds took.
    let mut already = earlier;
    let mut remaining = amount;
    let mut references = Vec::new();
    for charge in charges {
        let left = charge.amount_minor - already.min(charge.amount_minor);
        already -= charge.amount_minor - left;
        if left == 0 || remaining == 0 {
            continue;
        }
        let part = left.min(remaining);
        let Some(reference) = charge.gateway_reference.as_deref() else {
            continue;
        };
        let receipt = services
            .gateway
            .refund(RefundRequest {
                charge_reference: reference,
                amount: Money::new(part, currency),
                idempotency_key: &format!("refund:{refund_id}:{}", charge.id),
            })
            .await
            .map_err(|err| {
                refused(
                    "amount",
                    ViolationCode::RefundFailed,
                    &format!("the card refund failed: {err}"),
                )
            })?;
        references.push(receipt.reference);
        remaining -= part;
    }
    if remaining > 0 {
        return Err(ServiceError::internal(format!(
            "order {}: {remaining} left to refund beyond its charges",
            order.id
        )));
    }
    Ok(Some(references.join(",")))
}

#[allow(clippy::too_many_arguments)]
async fn write_refund(
    txn: &impl ConnectionTrait,
    id: Uuid,
    order: &order::Model,
    amount: i64,
    to_shopper: i64,
    reason: Option<String>,
    merchant_refund_reference: Option<String>,
    gateway_reference: Option<String>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let row = refund::Model {
        id,
        order_id: order.id,
        amount_minor: amount,
        to_shopper_minor: to_shopper,
        reason,
        merchant_refund_reference,
        gateway_reference,
        created_at: ChronoUnixTimestampMillis(now),
    };
    refund::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await?;
    Ok(())
}
