//! Collecting instalments: the job that charges due instalments (retrying on a schedule,
//! then marking them overdue), the job that voids orders not captured in time, and the
//! consumer paying an instalment early. Jobs take "now" as an argument, claim rows with
//! `FOR UPDATE SKIP LOCKED` on MySQL (SQLite runs one writer at a time), and handle one
//! instalment or order per transaction, so several instances can run them at once.

use chrono::{DateTime, Duration, Utc};
use entity::{installment, order, payment, payment_method};
use sea_orm::{
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
    prelude::ChronoUnixTimestampMillis,
    sea_query::{Expr, LockBehavior, LockType, Query},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    super::{
        ServiceError, ServiceResult, Services,
        audit::{self, Actor},
        idempotency::{self, Request},
        outbox::{self, Event},
        parse_stored, payment_methods,
    },
    merchant::{cancellation, record_change, void_locked},
};
use crate::{
    db::begin_write,
    domain::{
        Currency, Money,
        order::{InstallmentStatus, OrderStatus, retry_delay_days},
        violation::{Violation, ViolationCode},
    },
    events::EventType,
    payments::{ChargeRequest, GatewayError, GatewayReceipt},
};

/// What one round of charging due instalments did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Charged {
    /// Instalments charged successfully.
    pub paid: usize,
    /// Instalment charges that failed (to be retried, or now overdue).
    pub failed: usize,
}

const UNPAID_DUE: [InstallmentStatus; 2] =
    [InstallmentStatus::Scheduled, InstallmentStatus::Failed];
const COLLECTING: [OrderStatus; 2] = [OrderStatus::Captured, OrderStatus::Overdue];

/// Charges every instalment due by `now` of captured orders, one per transaction.
pub async fn charge_due(
    services: &Services,
    now: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<Charged> {
    let mut report = Charged::default();
    let candidates: Vec<Uuid> = due(now)
        .select_only()
        .column(installment::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&services.db)
        .await?;
    for id in candidates {
        let txn = begin_write(&services.db).await?;
        let Some(row) = due(now)
            .filter(installment::Column::Id.eq(id))
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .one(&txn)
            .await?
        else {
            continue; // another instance has it, or it changed
        };
        let order = lock_order(&txn, row.order_id).await?;
        let attempt = row.attempt_count + 1;
        let key = format!("installment:{}:attempt:{attempt}", row.id);
        let method = card(&txn, order.payment_method_id).await?;
        let action = match charge(services, &order, &method, row.amount_minor, &key).await? {
            Ok(receipt) => {
                record_paid(&txn, &order, &row, &receipt, (method.id, false), now).await?;
                report.paid += 1;
                "installment.charged"
            }
            Err(error) => {
                record_failed(&txn, &order, &row, error, method.id, now).await?;
                report.failed += 1;
                "installment.charge_failed"
            }
        };
        let details =
            json!({ "orderId": order.id, "amountMinor": row.amount_minor, "attempt": attempt });
        audit::record(
            &txn,
            &Actor::system(),
            action,
            Some(("installment", row.id)),
            details,
            now,
        )
        .await?;
        settle(&txn, &order, now).await?;
        outbox::commit(services, txn).await?;
    }
    Ok(report)
}

/// Unpaid instalments of captured orders due by `now` and not waiting for a retry.
fn due(now: DateTime<Utc>) -> sea_orm::Select<installment::Entity> {
    use installment::Column;
    installment::Entity::find()
        .filter(Column::Status.is_in(UNPAID_DUE.map(InstallmentStatus::as_str)))
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
                    .and_where(order::Column::Status.is_in(COLLECTING.map(OrderStatus::as_str)))
                    .to_owned(),
            ),
        )
        .order_by_asc(Column::DueDate)
        .order_by_asc(Column::Id)
}

/// Voids authorized orders whose capture window closed by `now`, one per transaction.
pub async fn void_lapsed(
    services: &Services,
    now: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<usize> {
    let lapsed = || {
        order::Entity::find()
            .filter(order::Column::Status.eq(OrderStatus::Authorized.as_str()))
            .filter(order::Column::CaptureDeadline.lte(now.timestamp_millis()))
    };
    let candidates: Vec<Uuid> = lapsed()
        .select_only()
        .column(order::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&services.db)
        .await?;
    let mut voided = 0;
    for id in candidates {
        let txn = begin_write(&services.db).await?;
        let Some(order) = lapsed()
            .filter(order::Column::Id.eq(id))
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .one(&txn)
            .await?
        else {
            continue;
        };
        let undone = void_locked(
            services,
            &txn,
            &order,
            Some("capture window closed".to_owned()),
            now,
        )
        .await?;
        let event = cancellation(&order, &undone, true);
        record_change(&txn, &Actor::system(), event, now).await?;
        outbox::commit(services, txn).await?;
        voided += 1;
    }
    Ok(voided)
}

/// An early payment a consumer asks for.
#[derive(Debug, Clone)]
pub struct EarlyPayment {
    /// The order.
    pub order_id: Uuid,
    /// Which instalment, from 1.
    pub sequence: i32,
    /// The card to charge; the order's card when absent.
    pub payment_method_id: Option<Uuid>,
    /// The client's idempotency key.
    pub idempotency_key: String,
}

/// The instalment paid early.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaidEarly {
    /// The order.
    pub order_id: Uuid,
}

/// Pays one unpaid instalment of the consumer's order now. A declined card changes
/// nothing.
pub async fn pay_early(
    services: &Services,
    actor: &Actor,
    consumer_id: Uuid,
    input: &EarlyPayment,
) -> ServiceResult<PaidEarly> {
    let card_id = input
        .payment_method_id
        .map(|id| id.to_string())
        .unwrap_or_default();
    let request = Request {
        principal: format!("consumer:{consumer_id}"),
        operation: "payInstallment",
        key: &input.idempotency_key,
        input_hash: idempotency::digest(&[
            &input.order_id.to_string(),
            &input.sequence.to_string(),
            &card_id,
        ]),
    };
    idempotency::run(services, &request, |key_id| async move {
        let now = services.clock.now();
        let txn = begin_write(&services.db).await?;
        let order = order::Entity::find_by_id(input.order_id)
            .filter(order::Column::ConsumerId.eq(consumer_id))
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let status: OrderStatus = parse_stored(&order.status, "order status")?;
        let row = installment::Entity::find()
            .filter(installment::Column::OrderId.eq(order.id))
            .filter(installment::Column::Sequence.eq(input.sequence))
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| {
                ServiceError::refused(
                    "sequence",
                    ViolationCode::OutOfRange,
                    "the order has no such instalment",
                )
            })?;
        let unpaid =
            parse_stored::<InstallmentStatus>(&row.status, "instalment status")?.is_unpaid();
        if !status.is_open() || !unpaid {
            return Err(ServiceError::refused(
                "sequence",
                ViolationCode::InstallmentNotPayable,
                "this instalment is not waiting to be paid",
            ));
        }
        let method =
            match input.payment_method_id {
                Some(id) => payment_methods::get(&txn, consumer_id, id)
                    .await
                    .map_err(|err| match err {
                        ServiceError::NotFound => ServiceError::refused(
                            "paymentMethodId",
                            ViolationCode::Invalid,
                            "is not one of your cards",
                        ),
                        other => other,
                    })?,
                None => card(&txn, order.payment_method_id).await?,
            };
        let key = format!("early:{key_id}");
        let receipt = charge(services, &order, &method, row.amount_minor, &key)
            .await?
            .map_err(super::confirm::declined)?;
        record_paid(&txn, &order, &row, &receipt, (method.id, true), now).await?;
        audit::record(
            &txn,
            actor,
            "installment.paid_early",
            Some(("installment", row.id)),
            json!({ "orderId": order.id, "amountMinor": row.amount_minor }),
            now,
        )
        .await?;
        settle(&txn, &order, now).await?;
        let outcome = PaidEarly { order_id: order.id };
        idempotency::finish(&txn, key_id, &Ok::<_, Vec<Violation>>(&outcome)).await?;
        outbox::commit(services, txn).await?;
        Ok(outcome)
    })
    .await
}

async fn lock_order(txn: &DatabaseTransaction, id: Uuid) -> ServiceResult<order::Model> {
    order::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The order's card, even if the consumer removed it since (a removal moves open orders to
/// another card when there is one).
async fn card(txn: &DatabaseTransaction, id: Uuid) -> ServiceResult<payment_method::Model> {
    payment_method::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::internal(format!("payment method {id} is missing")))
}

async fn charge(
    services: &Services,
    order: &order::Model,
    method: &payment_method::Model,
    amount_minor: i64,
    key: &str,
) -> ServiceResult<Result<GatewayReceipt, GatewayError>> {
    let currency: Currency = parse_stored(&order.currency, "currency")?;
    let token = payment_methods::token(services, method)?;
    Ok(services
        .gateway
        .charge(ChargeRequest {
            token: &token,
            amount: Money::new(amount_minor, currency),
            idempotency_key: key,
        })
        .await)
}

/// A succeeded payment of instalment `row`.
pub(crate) fn payment_row(
    order: &order::Model,
    row: &installment::Model,
    method_id: Uuid,
    now: DateTime<Utc>,
) -> payment::Model {
    payment::Model {
        id: Uuid::now_v7(),
        order_id: order.id,
        installment_id: Some(row.id),
        payment_method_id: method_id,
        amount_minor: row.amount_minor,
        currency: order.currency.clone(),
        status: "SUCCEEDED".to_owned(),
        gateway_reference: None,
        failure_code: None,
        created_at: ChronoUnixTimestampMillis(now),
    }
}

async fn installment_event(
    txn: &DatabaseTransaction,
    event: (EventType, serde_json::Value),
    order: &order::Model,
    status: OrderStatus,
    row: &installment::Model,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let (event_type, details) = event;
    let event = Event::installment(event_type, order, status, row, details);
    outbox::record(txn, event, now).await?;
    Ok(())
}

async fn record_paid(
    txn: &DatabaseTransaction,
    order: &order::Model,
    row: &installment::Model,
    receipt: &GatewayReceipt,
    (method_id, early): (Uuid, bool),
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    installment::Entity::update_many()
        .col_expr(
            installment::Column::Status,
            Expr::value(InstallmentStatus::Paid.as_str()),
        )
        .col_expr(
            installment::Column::PaidAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(
            installment::Column::AttemptCount,
            Expr::value(row.attempt_count + 1),
        )
        .col_expr(
            installment::Column::NextAttemptAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            installment::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(installment::Column::Id.eq(row.id))
        .exec(txn)
        .await?;
    let payment = payment::Model {
        gateway_reference: Some(receipt.reference.clone()),
        ..payment_row(order, row, method_id, now)
    };
    payment::Entity::insert(payment.into_active_model())
        .exec_without_returning(txn)
        .await?;
    let status = parse_stored(&order.status, "order status")?;
    let paid = (EventType::InstallmentPaid, json!({ "early": early }));
    installment_event(txn, paid, order, status, row, now).await
}

async fn record_failed(
    txn: &DatabaseTransaction,
    order: &order::Model,
    row: &installment::Model,
    error: GatewayError,
    method_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let attempts = row.attempt_count + 1;
    let retry = retry_delay_days(u32::try_from(attempts).unwrap_or(u32::MAX))
        .map(|days| now + Duration::days(days));
    let status = if retry.is_some() {
        InstallmentStatus::Failed
    } else {
        InstallmentStatus::Overdue
    };
    installment::Entity::update_many()
        .col_expr(installment::Column::Status, Expr::value(status.as_str()))
        .col_expr(installment::Column::AttemptCount, Expr::value(attempts))
        .col_expr(
            installment::Column::NextAttemptAt,
            Expr::value(retry.map(|at| at.timestamp_millis())),
        )
        .col_expr(
            installment::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(installment::Column::Id.eq(row.id))
        .exec(txn)
        .await?;
    let payment = payment::Model {
        status: "FAILED".to_owned(),
        failure_code: Some(error.code().to_owned()),
        ..payment_row(order, row, method_id, now)
    };
    payment::Entity::insert(payment.into_active_model())
        .exec_without_returning(txn)
        .await?;
    let order_status = if retry.is_some() {
        parse_stored(&order.status, "order status")?
    } else {
        OrderStatus::Overdue
    };
    let failed = (
        EventType::InstallmentFailed,
        json!({
            "attempt": attempts,
            "failureCode": error.code(),
            "nextAttemptAt": retry,
        }),
    );
    installment_event(txn, failed, order, order_status, row, now).await?;
    if retry.is_none() {
        set_status(txn, order, OrderStatus::Overdue, now).await?;
        let event = Event::installment(
            EventType::OrderOverdue,
            order,
            OrderStatus::Overdue,
            row,
            serde_json::Value::Null,
        );
        let event = Event {
            aggregate_id: order.id,
            ..event
        };
        record_change(txn, &Actor::system(), event, now).await?;
    }
    Ok(())
}

/// After an instalment changed: a fully paid order completes, an overdue one with nothing
/// overdue left is back to captured.
async fn settle(
    txn: &DatabaseTransaction,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let current = lock_order(txn, order.id).await?;
    let status: OrderStatus = parse_stored(&current.status, "order status")?;
    let statuses = installment::Entity::find()
        .select_only()
        .column(installment::Column::Status)
        .filter(installment::Column::OrderId.eq(order.id))
        .into_tuple::<String>()
        .all(txn)
        .await?
        .iter()
        .map(|s| parse_stored::<InstallmentStatus>(s, "instalment status"))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if statuses.iter().all(|s| !s.is_unpaid()) && COLLECTING.contains(&status) {
        Some(OrderStatus::Completed)
    } else if status == OrderStatus::Overdue && !statuses.contains(&InstallmentStatus::Overdue) {
        Some(OrderStatus::Captured)
    } else {
        None
    };
    if let Some(next) = next {
        set_status(txn, &current, next, now).await?;
        if next == OrderStatus::Completed {
            let event = Event::order(
                EventType::OrderCompleted,
                &current,
                OrderStatus::Completed,
                serde_json::Value::Null,
            );
            record_change(txn, &Actor::system(), event, now).await?;
        }
    }
    Ok(())
}

async fn set_status(
    txn: &DatabaseTransaction,
    order: &order::Model,
    status: OrderStatus,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            order::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        );
    if status == OrderStatus::Completed {
        update = update.col_expr(
            order::Column::CompletedAt,
            Expr::value(now.timestamp_millis()),
        );
    }
    update
        .filter(order::Column::Id.eq(order.id))
        .exec(txn)
        .await?;
    Ok(())
}
